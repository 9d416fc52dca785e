"""Histories from the DfE's SSDA903 tables, and the DfE's checks on the Missing table, row by row."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT
from rmfhc import evaluate, load_history, load_protocol
from rmfhc.cohort.ssda903 import TableError, read_ssda903
from rmfhc.cohort.synthetic import ssda903_tables
from rmfhc.evaluate import DutyState

HEADER = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n"
EPISODES = ("CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN\n")
MISSING = "CHILD,MISSING,MIS_START,MIS_END\n"


def tables(tmp_path: Path, header: str, episodes: str, missing: str, uasc: str | None = None) -> dict[str, Path]:
    paths = {"header": tmp_path / "header.csv", "episodes": tmp_path / "episodes.csv",
             "missing": tmp_path / "missing.csv"}
    paths["header"].write_text(HEADER + header, encoding="utf-8")
    paths["episodes"].write_text(EPISODES + episodes, encoding="utf-8")
    paths["missing"].write_text(MISSING + missing, encoding="utf-8")
    if uasc is not None:
        paths["uasc"] = tmp_path / "uasc.csv"
        paths["uasc"].write_text("CHILD,SEX,DOB,DUC\n" + uasc, encoding="utf-8")
    return paths


def test_a_child_in_foster_care_under_a_care_order_missing_twice(tmp_path: Path) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n",
                   "101,10/01/2025,S,C2,N1,U1,PR1,,,,,,SC1\n",
                   "101,M,03/11/2025,05/11/2025\n101,A,20/11/2025,20/11/2025\n")
    result = read_ssda903(**paths, authority="Home Council")
    assert result.findings == []
    [history] = result.histories
    assert history["precision"] == "day"
    assert history["child"] == {"id": "101", "date_of_birth": "2011-05-02", "looked_after": True,
                                "legal_basis": "care_order", "became_looked_after_at": "2025-01-10T00:00:00+00:00",
                                "placement": {"type": "foster", "placing_authority": "Home Council"}}
    first, second = history["episodes"]
    assert (first["kind"], first["last_seen_at"], first["found_at"]) == (
        "missing", "2025-11-03T00:00:00+00:00", "2025-11-05T00:00:00+00:00")
    assert first["reported_at"] == first["last_seen_at"]
    assert second["kind"] == "away_from_placement" and "reported_at" not in second
    load_history(history)


@pytest.mark.parametrize(("missing", "rule", "kept"), [
    ("101,X,03/11/2025,05/11/2025\n", "1006", 0),  # neither M nor A
    ("101,M,31/02/2025,05/11/2025\n", "1004", 0),  # no 31 February
    ("101,M,2025-11-03,05/11/2025\n", "1004", 0),  # not dd/mm/yyyy
    ("101,M,05/11/2025,03/11/2025\n", "567", 0),  # ends before it starts
    ("101,M,03/11/2010,05/11/2010\n", "586", 0),  # before the child was born
    ("101,M,03/11/2025,\n101,M,10/11/2025,12/11/2025\n", "574", 1),  # starts while the first is still open
    ("101,M,03/11/2025,08/11/2025\n101,M,06/11/2025,07/11/2025\n", "574", 1),  # overlaps the first
    ("101,M,03/11/2024,05/11/2024\n", "581", 1),  # before the child started to be looked after
])
def test_each_dfe_check_on_the_missing_table_names_its_rule_file_and_row(
        tmp_path: Path, missing: str, rule: str, kept: int) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n", "101,10/01/2025,S,C2,N1,U1,PR1,,,,,,SC1\n", missing)
    result = read_ssda903(**paths)
    [finding] = [f for f in result.findings if f.rule == rule]
    assert finding.file == str(paths["missing"]) and finding.child == "101"
    assert finding.row == (3 if rule == "574" else 2)  # the header is line 1
    assert str(finding).startswith(f"{paths['missing']}:{finding.row}: DfE {rule}: ")
    assert sum(len(h["episodes"]) for h in result.histories) == kept


def test_ceased_to_be_looked_after_with_an_open_period_and_one_starting_after(tmp_path: Path) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n", "101,10/01/2025,S,C2,N1,U1,PR1,01/10/2025,E11,,,,SC1\n",
                   "101,M,03/11/2025,\n")
    rules = {f.rule for f in read_ssda903(**paths).findings}
    assert {"577", "578"} <= rules


def test_a_child_with_no_header_row_is_reported_not_invented(tmp_path: Path) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n", "", "202,M,03/11/2025,05/11/2025\n")
    result = read_ssda903(**paths)
    assert result.histories == []
    [finding] = result.findings
    assert (finding.rule, finding.child, finding.row) == ("no-header", "202", 2)
    assert result.children_without_missing == 1


def test_a_table_without_the_dfe_columns_is_one_plain_error(tmp_path: Path) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n", "", "")
    paths["missing"].write_text("CHILD,TYPE,START,END\n101,M,03/11/2025,05/11/2025\n", encoding="utf-8")
    with pytest.raises(TableError, match="missing table has no column MISSING, MIS_START, MIS_END"):
        read_ssda903(**paths)


def test_uasc_and_legal_status_and_placement_codes(tmp_path: Path) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n102,1,02/05/2010,WBRI,,,\n",
                   "101,10/01/2025,S,J1,N1,K2,PR1,,,,,,SC1\n102,10/01/2025,S,V2,N1,H5,PR4,,,,,,SC1\n",
                   "101,M,03/11/2025,04/11/2025\n102,M,03/11/2025,04/11/2025\n", uasc="102,1,02/05/2010,\n")
    histories = {h["child"]["id"]: h["child"] for h in read_ssda903(**paths).histories}
    assert (histories["101"]["legal_basis"], histories["101"]["placement"]["type"]) == ("remanded", "childrens_home")
    assert (histories["102"]["legal_basis"], histories["102"]["placement"]["type"]) == ("section_20",
                                                                                       "semi_independent")
    assert histories["102"]["unaccompanied_asylum_seeking"] is True
    assert "unaccompanied_asylum_seeking" not in histories["101"]


def test_a_duty_under_a_day_is_not_assessable_from_the_return(tmp_path: Path) -> None:
    paths = tables(tmp_path, "101,1,02/05/2011,WBRI,,,\n", "101,10/01/2025,S,C2,N1,U1,PR1,,,,,,SC1\n",
                   "101,M,03/11/2025,05/11/2025\n")
    [history] = read_ssda903(**paths).histories
    from datetime import UTC, datetime

    result = evaluate(load_protocol("dorset"), load_history(history), datetime(2025, 12, 1, tzinfo=UTC))
    states = {d.state for d in result.duties}
    assert DutyState.NOT_ASSESSABLE in states
    assert "dates-only" in {f.check for f in result.findings}
    # A duty of a day or more is still judged (to the day): nothing recorded as done, so not on time.
    assert any(d.state is DutyState.OVERDUE for d in result.duties)


def test_generated_tables_import_and_the_command_writes_json_lines(tmp_path: Path) -> None:
    paths = ssda903_tables(200, tmp_path / "t")
    result = read_ssda903(**paths)
    assert len(result.histories) == 200 and not [f for f in result.findings if f.rule in ("1004", "1006", "567")]
    done = subprocess.run([sys.executable, "-m", "rmfhc", "import", "ssda903", "--header", str(paths["header"]),
                           "--episodes", str(paths["episodes"]), "--missing", str(paths["missing"]), "--uasc",
                           str(paths["uasc"])], capture_output=True, text=True, cwd=ROOT, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 200 and all(load_history(json.loads(line)) for line in lines[:20])
    assert "200 histories" in done.stderr
