"""Histories from the DfE's SSDA903 return (children looked after): the Header, Episodes, Missing and UASC tables.

The tables are CSV files with the DfE's own column names and dates written dd/mm/yyyy. A child's history is
built from their Missing rows (M = missing, A = away from placement without authorisation; a blank MIS_END
means still missing), with their date of birth from the Header, legal status and placement from the
Episodes and UASC status from the UASC table. The return gives dates, not times, so every history built
here is `precision: day` (docs/cohorts.md says what that means for each duty).

The DfE's own checks on the Missing table are run as the rows are read; each failure is a `Finding` naming
the DfE rule, the file and the row. A row that cannot make an episode (an invalid date, an end before its
start, an overlap) is left out, and the finding says so; nothing is invented (a child with Missing rows but no
Header row is reported, not built).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any

from ..dates import LONDON
from ..errors import RmfhcError

# DfE legal status (LS) codes to the history's legal basis.
LEGAL_BASIS = {"C1": "interim_care_order", "C2": "care_order", "V2": "section_20", "J1": "remanded",
               "J2": "remanded", "J3": "remanded"}
# DfE placement (PLACE) codes to the history's placement type; codes not listed are `other`.
PLACEMENT = {**dict.fromkeys(("U1", "U2", "U3", "U4", "U5", "U6"), "foster"),
             **dict.fromkeys(("K1", "K2", "R1"), "childrens_home"),
             **dict.fromkeys(("H5", "P2"), "semi_independent"), "P1": "placed_with_parents"}
TABLES = {
    "header": ("CHILD", "SEX", "DOB"),
    "episodes": ("CHILD", "DECOM", "LS", "PLACE"),
    "missing": ("CHILD", "MISSING", "MIS_START", "MIS_END"),
    "uasc": ("CHILD", "DUC"),
}


class TableError(RmfhcError):
    """A table that cannot be read at all (no file, not CSV, a required column missing)."""


@dataclass(frozen=True, slots=True)
class RowFinding:
    """A DfE check that failed, or another problem with a row, with its place."""

    rule: str  # the DfE rule code, or a short name for a check of our own
    message: str
    file: str
    row: int  # 1-based line number in the CSV (the header line is 1)
    child: str | None

    def __str__(self) -> str:
        code = f"DfE {self.rule}" if self.rule[0].isdigit() else self.rule
        who = f" (child {self.child})" if self.child else ""
        return f"{self.file}:{self.row}: {code}: {self.message}{who}"


@dataclass
class Import:
    """What the tables gave: a history (as JSON-ready data) per child built, and every finding."""

    histories: list[dict[str, Any]] = field(default_factory=list)
    findings: list[RowFinding] = field(default_factory=list)
    children_without_missing: int = 0


def _rows(path: Path, table: str) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        handle = path.open(encoding="utf-8-sig", newline="")
    except OSError as error:
        raise TableError(f"{path}: cannot read the {table} table: {error.strerror}") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            missing = [c for c in TABLES[table] if c not in (reader.fieldnames or ())]
            if missing:
                raise TableError(f"{path}:1: the {table} table has no column {', '.join(missing)} "
                                     f"(the DfE's column names, such as {', '.join(TABLES[table])})")
            for number, row in enumerate(reader, start=2):
                yield number, {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        except UnicodeDecodeError as error:
            raise TableError(f"{path}: not UTF-8 text ({error.reason} at byte {error.start}); save the "
                                 "table as UTF-8 CSV") from None
        except csv.Error as error:
            raise TableError(f"{path}: not a CSV table: {error}") from None


def parse_date(text: str) -> date | None:
    """A DfE date, dd/mm/yyyy; None if blank or not a date."""
    try:
        return datetime.strptime(text, "%d/%m/%Y").date()
    except ValueError:
        return None


def _midnight(day: date) -> str:
    return datetime.combine(day, time(0), tzinfo=LONDON).isoformat()


@dataclass
class _CareEpisode:
    start: date
    end: date | None
    legal_status: str
    place: str


def read_ssda903(header: Path, episodes: Path, missing: Path, uasc: Path | None = None,
                 authority: str | None = None) -> Import:
    """Build histories from the SSDA903 tables; run the DfE's checks on the Missing table."""
    result = Import()
    births: dict[str, date] = {}
    for number, row in _rows(header, "header"):
        born = parse_date(row["DOB"])
        if born is None:
            result.findings.append(RowFinding("DOB", f"DOB '{row['DOB']}' is not a date (dd/mm/yyyy)", str(header),
                                           number, row["CHILD"] or None))
            continue
        births[row["CHILD"]] = born
    care: dict[str, list[_CareEpisode]] = {}
    for number, row in _rows(episodes, "episodes"):
        start = parse_date(row["DECOM"])
        if start is None:
            result.findings.append(RowFinding("DECOM", f"DECOM '{row['DECOM']}' is not a date (dd/mm/yyyy)",
                                           str(episodes), number, row["CHILD"] or None))
            continue
        care.setdefault(row["CHILD"], []).append(
            _CareEpisode(start, parse_date(row.get("DEC", "")), row["LS"], row["PLACE"]))
    unaccompanied: dict[str, date | None] = {}
    if uasc is not None:
        for _, row in _rows(uasc, "uasc"):
            unaccompanied[row["CHILD"]] = parse_date(row["DUC"])
    rows: dict[str, list[tuple[int, dict[str, str]]]] = {}
    for number, row in _rows(missing, "missing"):
        rows.setdefault(row["CHILD"], []).append((number, row))
    for child, child_rows in rows.items():
        history = _history(child, child_rows, births.get(child), sorted(care.get(child, []), key=lambda e: e.start),
                           unaccompanied, str(missing), authority, result.findings)
        if history is not None:
            result.histories.append(history)
    result.children_without_missing = len(set(births) - set(rows))
    return result


def _history(child: str, rows: list[tuple[int, dict[str, str]]], born: date | None, care: list[_CareEpisode],
             unaccompanied: dict[str, date | None], file: str, authority: str | None,
             findings: list[RowFinding]) -> dict[str, Any] | None:
    if born is None:
        findings.append(RowFinding("no-header", "the child has Missing rows but no Header row (or no valid date of "
                                "birth), so no history was built for them", file, rows[0][0], child))
        return None
    periods = []
    for number, row in rows:
        period = _period(child, number, row, born, care, file, findings)
        if period is not None:
            periods.append(period)
    periods.sort(key=lambda p: p[1])
    kept: list[tuple[int, date, date | None, str]] = []
    for period in periods:  # DfE 574: a period may not start while the one before is open, nor overlap it
        if kept and (kept[-1][2] is None or period[1] < kept[-1][2]):
            findings.append(RowFinding("574", "a missing/away period starts while the previous one is still open, "
                                    "or they overlap; this row was left out", file, period[0], child))
            continue
        kept.append(period)
    if not kept:
        return None
    latest = next((e for e in reversed(care) if e.start <= kept[-1][1]), care[-1] if care else None)
    child_data: dict[str, Any] = {"id": child, "date_of_birth": born.isoformat(), "looked_after": bool(care)}
    if latest is not None:
        child_data["legal_basis"] = LEGAL_BASIS.get(latest.legal_status, "none")
        placement: dict[str, Any] = {"type": PLACEMENT.get(latest.place, "other")}
        if authority:
            placement["placing_authority"] = authority
        child_data["placement"] = placement
        child_data["became_looked_after_at"] = _midnight(care[0].start)
    if child in unaccompanied:
        ceased = unaccompanied[child]
        child_data["unaccompanied_asylum_seeking"] = ceased is None or ceased > kept[-1][1]
    episodes = []
    for number, start, end, kind in kept:
        episode: dict[str, Any] = {"id": f"row-{number}", "kind": kind, "last_seen_at": _midnight(start)}
        if kind == "missing":
            # A missing child is reported to the police (statutory guidance); the return gives no time for it.
            episode["reported_at"] = _midnight(start)
        if end is not None:
            episode["found_at"] = _midnight(end)
        episodes.append(episode)
    return {"precision": "day", "child": child_data, "episodes": episodes}


def _period(child: str, number: int, row: dict[str, str], born: date, care: list[_CareEpisode], file: str,
            findings: list[RowFinding]) -> tuple[int, date, date | None, str] | None:
    """A Missing row as (row, start, end, kind), after the DfE's checks on it; None if it cannot be used."""
    def finding(rule: str, message: str) -> None:
        findings.append(RowFinding(rule, message, file, number, child))

    code = row["MISSING"].upper()
    if code not in ("M", "A"):
        finding("1006", f"Missing type invalid: '{row['MISSING']}' is neither M (missing) nor A (away from "
                        "placement without authorisation); this row was left out")
        return None
    start = parse_date(row["MIS_START"])
    if start is None:
        finding("1004", f"the start date '{row['MIS_START']}' of the missing or away period is not a valid date "
                        "(dd/mm/yyyy); this row was left out")
        return None
    end = parse_date(row["MIS_END"]) if row["MIS_END"] else None
    if row["MIS_END"] and end is None:
        finding("MIS_END", f"the end date '{row['MIS_END']}' is not a valid date (dd/mm/yyyy); this row was left "
                           "out")
        return None
    if end is not None and end < start:
        finding("567", "the date the missing or away period ended is before the date it started; this row was "
                       "left out")
        return None
    if start < born:
        finding("586", "the missing period starts before the child's date of birth; this row was left out")
        return None
    if care:
        if start < care[0].start:
            finding("581", "the child is missing before they started to be looked after")
        last = care[-1]
        if last.end is not None and start > last.end:
            finding("578", "the date the child started to be missing is after the child ceased to be looked after")
        if last.end is not None and end is None:
            finding("577", "the child ceased to be looked after but this missing or away period has no end date")
    return number, start, end, "missing" if code == "M" else "away_from_placement"
