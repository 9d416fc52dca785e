"""The cohort evaluator's column arithmetic gives, element by element, what rmfhc.dates gives (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, time

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from rmfhc import dates
from rmfhc.cohort import vectime as vt
from rmfhc.dates import Duration, OfficeHours, Unit

OFFICE = OfficeHours(frozenset(range(5)), time(9), time(17))
moments = st.lists(st.datetimes(min_value=datetime(1995, 1, 1), max_value=datetime(2060, 12, 31),
                                timezones=st.just(UTC)), min_size=1, max_size=40)
# Times near the clock changes and bank holidays are where the two could part: draw many of them.
edges = st.lists(st.sampled_from([datetime(2026, 3, 29, 0, 30, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                                  datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
                                  datetime(2026, 12, 24, 23, 59, tzinfo=UTC), datetime(2027, 1, 31, 10, 0, tzinfo=UTC),
                                  datetime(2026, 11, 3, 8, 59, tzinfo=UTC), datetime(2027, 5, 3, 1, 0, tzinfo=UTC)]),
                 min_size=1, max_size=8)
durations = st.builds(Duration, st.integers(0, 40), st.sampled_from(list(Unit)))


def column(values: list[datetime]) -> np.ndarray:
    return vt.instants(values)


@settings(max_examples=150, deadline=None)
@given(st.one_of(moments, edges), durations)
def test_adding_a_duration_agrees_with_dates_add(values: list[datetime], duration: Duration) -> None:
    if duration.unit is Unit.WORKING_DAYS and duration.amount == 0:
        return
    got = vt.add(column(values), duration, OFFICE)
    assert [vt.to_datetime(int(v)) for v in got] == [dates.add(v, duration, OFFICE) for v in values]


@settings(max_examples=150, deadline=None)
@given(st.one_of(moments, edges), durations.filter(lambda d: d.unit is not Unit.WORKING_DAYS))
def test_subtracting_a_window_agrees_with_dates_subtract(values: list[datetime], duration: Duration) -> None:
    got = vt.subtract(column(values), duration)
    assert [vt.to_datetime(int(v)) for v in got] == [dates.subtract(v, duration) for v in values]


@settings(max_examples=150, deadline=None)
@given(st.one_of(moments, edges), st.integers(0, 23), st.sampled_from([0, 30, 59]))
def test_next_working_day_and_time_of_day_agree(values: list[datetime], hour: int, minute: int) -> None:
    got = vt.next_working_day_close(column(values), OFFICE)
    assert [vt.to_datetime(int(v)) for v in got] == [dates.next_working_day_close(v, OFFICE) for v in values]
    got = vt.next_time_of_day(column(values), hour, minute)
    assert [vt.to_datetime(int(v)) for v in got] == [dates.next_time_of_day(v, time(hour, minute)) for v in values]


def test_unknown_instants_stay_unknown() -> None:
    column_ = np.array([vt.NAT, vt.instants([datetime(2026, 11, 2, tzinfo=UTC)])[0]], dtype=np.int64)
    for duration in (Duration(3, Unit.DAYS), Duration(2, Unit.MONTHS), Duration(1, Unit.WORKING_DAYS),
                     Duration(5, Unit.HOURS)):
        assert vt.add(column_, duration, OFFICE)[0] == vt.NAT
    assert vt.next_working_day_close(column_, OFFICE)[0] == vt.NAT
