"""The cohort evaluator gives the same duties as `evaluate`, child by child (properties on generated cohorts)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conftest import PACK_NAMES
from rmfhc import History, evaluate, load_history
from rmfhc.cohort import vectime as vt
from rmfhc.cohort.columnar import NAT, evaluate_cohort
from rmfhc.cohort.synthetic import children
from test_properties import PACKS, histories


def per_child(pack_name: str, cohort: list[History], as_of: datetime) -> list[tuple[Any, ...]]:
    rows = []
    for index, history in enumerate(cohort):
        for d in evaluate(PACKS[pack_name], history, as_of).duties:
            rows.append((index, d.episode, d.rule, d.duty, d.occurrence, d.state.value, ns(d.required_at), ns(d.due),
                         NAT if d.done_at is None else ns(d.done_at), d.done_by,
                         NAT if d.late_by is None else int(d.late_by / timedelta(microseconds=1)) * 1000))
    rows.sort(key=lambda r: (r[0], r[6], r[1], r[2], r[4]))
    return rows


def ns(moment: datetime) -> int:
    return int(vt.instants([moment])[0])


@given(st.lists(histories(), min_size=1, max_size=6), st.sampled_from(PACK_NAMES), st.integers(0, 60 * 24 * 90))
def test_the_cohort_evaluator_equals_evaluate_on_generated_cohorts(cohort: list[History], name: str,
                                                                   offset: int) -> None:
    as_of = max(h.ordered_episodes()[0].last_seen_at for h in cohort) + timedelta(minutes=offset)
    duties, _ = evaluate_cohort(PACKS[name], cohort, as_of)
    assert duties.rows() == per_child(name, cohort, as_of)


@pytest.mark.parametrize("name", PACK_NAMES)
@pytest.mark.parametrize("with_events", [False, True])
def test_a_synthetic_year_agrees_and_without_events_needs_no_child_by_child_fallback(name: str,
                                                                                     with_events: bool) -> None:
    as_of = datetime(2026, 1, 15, tzinfo=UTC)
    raw = list(children(150, seed=11))
    if not with_events:  # as the SSDA903 return gives them: no acts recorded
        for history in raw:
            for episode in history["episodes"]:
                episode["events"] = []
    cohort = [h for h in (load_history(c) for c in raw) if h.ordered_episodes()[0].last_seen_at <= as_of]
    duties, fallback = evaluate_cohort(PACKS[name], cohort, as_of)
    if not with_events:
        assert fallback == set()
    assert duties.rows() == per_child(name, cohort, as_of)


def test_events_that_name_their_holder_are_left_to_evaluate_and_still_agree() -> None:
    raw = list(children(40, seed=3))
    for history in raw[::3]:
        for episode in history["episodes"]:
            for event in episode["events"]:
                event["by"] = "social_worker"
    cohort = [load_history(h) for h in raw]
    as_of = datetime(2026, 4, 1, tzinfo=UTC)
    duties, fallback = evaluate_cohort(PACKS["medway"], cohort, as_of)
    assert fallback and fallback <= set(range(0, 40, 3))
    assert duties.rows() == per_child("medway", cohort, as_of)
