"""Synthetic cohorts for tests and benchmarks: plausible children, never real ones.

`children(n)` gives histories as JSON-ready dicts: a mix of children at home and in care, 1 to 20 episodes
each (most have one or two; a few go missing again and again), reports, police gradings, finds, some concerns
and the events a case system records (some on time, some late, some missing). `ssda903_tables(n, folder)`
writes the DfE tables for such a cohort, dates only.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

_EVENTS = ("report_to_police", "inform_social_worker", "inform_iro", "strategy_discussion", "return_interview",
           "safe_and_well_check", "notify_childrens_services", "need_to_know_report", "inform_parents",
           "daily_missing_report", "missing_review_meeting", "inform_senior_manager")


def _episode_count(rng: random.Random) -> int:
    # Most children go missing once or twice in a year; a few very often (capped at 20).
    return min(20, max(1, int(rng.paretovariate(1.6))))


def child(rng: random.Random, number: int, start: datetime, span_days: int = 365) -> dict[str, Any]:
    """One synthetic child's history."""
    looked_after = rng.random() < 0.55
    born = date(2009 + rng.randint(0, 8), rng.randint(1, 12), rng.randint(1, 28))
    data: dict[str, Any] = {
        "id": f"C{number:06d}", "date_of_birth": born.isoformat(), "looked_after": looked_after,
        "legal_basis": rng.choice(["care_order", "section_20", "interim_care_order"]) if looked_after else "none",
        "known_to_childrens_services": rng.random() < 0.8, "open_to_childrens_services": rng.random() < 0.65,
        "child_protection_plan": rng.random() < 0.15, "exploitation_risk": rng.random() < 0.25,
        "unaccompanied_asylum_seeking": looked_after and rng.random() < 0.05,
    }
    if looked_after:
        data["placement"] = {"type": rng.choice(["foster", "foster", "childrens_home", "semi_independent"]),
                             "placing_authority": "Home Council", "host_authority": "Home Council",
                             "distance_miles": rng.randint(0, 40)}
    count = _episode_count(rng)
    moment = start + timedelta(minutes=rng.randint(0, span_days * 24 * 60 * 9 // 10))
    episodes = []
    for index in range(count):
        kind = rng.choices(["missing", "away_from_placement", "missing_with_family", "absconded"],
                           [85, 10 if looked_after else 0, 3, 2])[0]
        reported = moment + timedelta(minutes=rng.randint(10, 300))
        found = reported + timedelta(minutes=rng.randint(60, 60 * 24 * rng.choice([1, 1, 2, 4, 10])))
        episode: dict[str, Any] = {"id": f"E{index + 1}", "kind": kind, "last_seen_at": moment.isoformat()}
        if kind != "away_from_placement":
            episode["reported_at"] = reported.isoformat()
            episode["risk"] = [{"graded_at": (reported + timedelta(minutes=rng.randint(5, 90))).isoformat(),
                                "level": rng.choices(["no_apparent_risk", "medium", "high"], [10, 70, 20])[0]}]
        still_missing = index == count - 1 and rng.random() < 0.03
        if not still_missing:
            episode["found_at"] = found.isoformat()
            episode["found_report_received_at"] = (found + timedelta(minutes=rng.randint(5, 240))).isoformat()
        if rng.random() < 0.06:
            episode["concerns"] = [{"concern": rng.choice(["harm_disclosed_on_return", "exploitation"]),
                                    "known_at": (found + timedelta(hours=rng.randint(1, 80))).isoformat()}]
        episode["events"] = [
            {"duty": rng.choice(_EVENTS),
             "at": (reported + timedelta(minutes=rng.randint(5, 60 * 24 * 5))).isoformat()}
            for _ in range(rng.randint(0, 6))]
        episodes.append(episode)
        moment = found + timedelta(hours=rng.randint(6, 24 * max(2, span_days // (3 * count))))
    return {"child": data, "episodes": episodes}


def children(n: int, seed: int = 2026, start: datetime | None = None) -> Iterator[dict[str, Any]]:
    """`n` synthetic histories, the same for the same seed."""
    rng = random.Random(seed)
    begin = start or datetime(2025, 4, 1, tzinfo=UTC)
    for number in range(n):
        yield child(rng, number + 1, begin)


def ssda903_tables(n: int, folder: Path, seed: int = 903, year_start: date = date(2025, 4, 1)) -> dict[str, Path]:
    """Write the SSDA903 Header, Episodes, Missing and UASC tables for `n` looked-after children into `folder`."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {name: folder / f"{name}.csv" for name in ("header", "episodes", "missing", "uasc")}
    with (paths["header"].open("w", newline="") as h, paths["episodes"].open("w", newline="") as e,
          paths["missing"].open("w", newline="") as m, paths["uasc"].open("w", newline="") as u):
        header, episodes, missing, uasc = (csv.writer(f, lineterminator="\n") for f in (h, e, m, u))
        header.writerow(["CHILD", "SEX", "DOB", "ETHNIC", "UPN", "MOTHER", "MC_DOB"])
        episodes.writerow(["CHILD", "DECOM", "RNE", "LS", "CIN", "PLACE", "PLACE_PROVIDER", "DEC", "REC",
                           "REASON_PLACE_CHANGE", "HOME_POST", "PL_POST", "URN"])
        missing.writerow(["CHILD", "MISSING", "MIS_START", "MIS_END"])
        uasc.writerow(["CHILD", "SEX", "DOB", "DUC"])
        for number in range(n):
            child_id = f"{100000 + number}"
            born = date(2008 + rng.randint(0, 9), rng.randint(1, 12), rng.randint(1, 28))
            header.writerow([child_id, rng.choice(["1", "2"]), born.strftime("%d/%m/%Y"), "WBRI", "", "", ""])
            began = year_start - timedelta(days=rng.randint(30, 900))
            episodes.writerow([child_id, began.strftime("%d/%m/%Y"), "S", rng.choice(["C2", "C2", "V2", "C1", "J1"]),
                               "N1", rng.choice(["U1", "U4", "K2", "H5", "P1", "R1"]), "PR1", "", "", "", "", "",
                               "SC000001"])
            if rng.random() < 0.04:
                uasc.writerow([child_id, "1", born.strftime("%d/%m/%Y"), ""])
            day = year_start + timedelta(days=rng.randint(0, 200))
            for _ in range(_episode_count(rng)):
                end = day + timedelta(days=rng.choice([0, 0, 1, 1, 2, 5]))
                missing.writerow([child_id, rng.choice(["M", "M", "M", "A"]), day.strftime("%d/%m/%Y"),
                                  end.strftime("%d/%m/%Y")])
                day = end + timedelta(days=rng.randint(1, 20))
    return paths
