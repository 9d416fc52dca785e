"""Time arithmetic at its boundaries (rmfhc.dates; docs/time.md). Bank holidays are England and Wales."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rmfhc.dates import (
    LONDON,
    Duration,
    OfficeHours,
    Unit,
    add,
    age_on,
    is_bank_holiday,
    local_datetime,
    next_opening_day,
    next_time_of_day,
    next_working_day,
    next_working_day_close,
    subtract,
    without_offset,
    working_days_after,
)

OFFICE = OfficeHours(frozenset(range(5)), time(9), time(17))


def london(*args: int) -> datetime:
    return local_datetime(datetime(*args))  # type: ignore[arg-type]


def test_72_hours_across_the_october_clock_change_is_72_real_hours() -> None:
    # Clocks go back at 02:00 BST on Sunday 25 October 2026: wall time shows one hour less.
    start = london(2026, 10, 24, 10, 0)
    due = add(start, Duration(72, Unit.HOURS))
    assert due.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=72)
    assert due.astimezone(UTC) == datetime(2026, 10, 27, 9, 0, tzinfo=UTC)
    assert due.astimezone(LONDON).hour == 9


def test_3_days_across_the_october_clock_change_keeps_the_wall_clock() -> None:
    due = add(london(2026, 10, 24, 10, 0), Duration(3, Unit.DAYS))
    assert due == london(2026, 10, 27, 10, 0)
    assert due.astimezone(UTC) == datetime(2026, 10, 27, 10, 0, tzinfo=UTC)  # 73 real hours


def test_24_hours_across_the_march_clock_change_is_24_real_hours() -> None:
    # Clocks go forward at 01:00 GMT on Sunday 28 March 2027.
    due = add(london(2027, 3, 27, 12, 0), Duration(24, Unit.HOURS))
    assert due == london(2027, 3, 28, 13, 0)


def test_a_skipped_wall_clock_time_moves_forward_by_the_gap() -> None:
    assert local_datetime(datetime(2027, 3, 28, 1, 30)) == datetime(2027, 3, 28, 1, 30, tzinfo=UTC)
    assert local_datetime(datetime(2027, 3, 28, 1, 30)).astimezone(LONDON).hour == 2


def test_an_ambiguous_wall_clock_time_is_read_as_summer_time() -> None:
    assert local_datetime(datetime(2026, 10, 25, 1, 30)).utcoffset() == timedelta(hours=1)


def test_a_month_from_31_january_is_the_last_day_of_february() -> None:
    assert add(london(2027, 1, 31, 9, 0), Duration(1, Unit.MONTHS)) == london(2027, 2, 28, 9, 0)
    assert add(london(2028, 1, 31, 9, 0), Duration(1, Unit.MONTHS)) == london(2028, 2, 29, 9, 0)


def test_two_months_keep_the_day_and_the_wall_clock() -> None:
    assert add(london(2026, 9, 15, 14, 0), Duration(2, Unit.MONTHS)) == london(2026, 11, 15, 14, 0)


def test_christmas_2026_bank_holidays_include_the_boxing_day_substitute() -> None:
    assert is_bank_holiday(date(2026, 12, 25))
    assert is_bank_holiday(date(2026, 12, 28))  # Boxing Day falls on a Saturday
    assert not is_bank_holiday(date(2026, 12, 24))
    assert not is_bank_holiday(date(2026, 12, 29))


def test_three_working_days_from_christmas_eve_skip_the_bank_holidays() -> None:
    # Thu 24 Dec: Fri 25 (holiday), Mon 28 (holiday), Tue 29 (1), Wed 30 (2), Thu 31 (3).
    assert working_days_after(date(2026, 12, 24), 3) == date(2026, 12, 31)
    assert add(london(2026, 12, 24, 15, 0), Duration(3, Unit.WORKING_DAYS), OFFICE) == london(2026, 12, 31, 17, 0)


def test_working_days_across_easter_2027() -> None:
    # Thu 25 Mar 2027; Good Friday 26 Mar and Easter Monday 29 Mar are bank holidays.
    assert working_days_after(date(2027, 3, 25), 1) == date(2027, 3, 30)
    assert working_days_after(date(2027, 3, 25), 2) == date(2027, 3, 31)


def test_next_working_day_from_friday_evening_and_from_saturday_is_monday() -> None:
    assert next_working_day(date(2026, 11, 6)) == date(2026, 11, 9)
    assert next_working_day(date(2026, 11, 7)) == date(2026, 11, 9)
    # the day itself never counts, even a working day
    assert next_working_day(date(2026, 11, 9)) == date(2026, 11, 10)


def test_working_days_end_at_the_offices_closing_time() -> None:
    office = OfficeHours(frozenset(range(5)), time(8, 30), time(16, 30))
    assert add(london(2026, 11, 6, 23, 0), Duration(1, Unit.WORKING_DAYS), office) == london(2026, 11, 9, 16, 30)


def test_office_hours_edges() -> None:
    assert not OFFICE.is_open(london(2026, 11, 9, 8, 59))
    assert OFFICE.is_open(london(2026, 11, 9, 9, 0))
    assert OFFICE.is_open(london(2026, 11, 9, 16, 59))
    assert not OFFICE.is_open(london(2026, 11, 9, 17, 0))
    assert not OFFICE.is_open(london(2026, 12, 28, 11, 0))  # bank holiday
    assert not OFFICE.is_open(london(2026, 11, 7, 11, 0))  # Saturday


def test_ages_change_at_local_midnight_on_the_birthday() -> None:
    dob = date(2014, 11, 10)
    assert age_on(dob, london(2026, 11, 9, 23, 59)) == 11
    assert age_on(dob, london(2026, 11, 10, 0, 0)) == 12
    # 23:30 UTC on 9 June is 00:30 BST on 10 June in London: already the birthday
    assert age_on(date(2010, 6, 10), datetime(2026, 6, 9, 23, 30, tzinfo=UTC)) == 16
    assert age_on(date(2010, 6, 10), datetime(2026, 6, 9, 22, 59, tzinfo=UTC)) == 15


def test_a_29_february_birthday_falls_on_1_march_in_other_years() -> None:
    dob = date(2012, 2, 29)
    assert age_on(dob, london(2028, 2, 28, 12, 0)) == 15
    assert age_on(dob, london(2027, 2, 28, 12, 0)) == 14
    assert age_on(dob, london(2027, 3, 1, 0, 0)) == 15


def test_subtracting_a_window_keeps_the_wall_clock() -> None:
    assert subtract(london(2026, 11, 24, 10, 0), Duration(30, Unit.DAYS)) == london(2026, 10, 25, 10, 0)
    with pytest.raises(ValueError):
        subtract(london(2026, 11, 24, 10, 0), Duration(3, Unit.WORKING_DAYS))


@pytest.mark.parametrize(
    ("text", "amount", "unit"),
    [("24 hours", 24, Unit.HOURS), ("1 hour", 1, Unit.HOURS), ("3 working days", 3, Unit.WORKING_DAYS),
     ("2 weeks", 2, Unit.WEEKS), ("3 calendar days", 3, Unit.DAYS), ("2 months", 2, Unit.MONTHS)],
)
def test_durations_read_as_written(text: str, amount: int, unit: Unit) -> None:
    assert Duration.parse(text) == Duration(amount, unit)


@pytest.mark.parametrize("text", ["24", "hours", "1.5 hours", "three days", "2 fortnights", "-3 days"])
def test_bad_durations_are_refused_in_plain_words(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration"):
        Duration.parse(text)


@pytest.mark.parametrize(("moment", "day"), [
    (london(2026, 11, 3, 0, 0), date(2026, 11, 3)),  # midnight Tuesday: the office opens that morning
    (london(2026, 11, 3, 8, 59), date(2026, 11, 3)),  # a minute before opening
    (london(2026, 11, 3, 9, 0), date(2026, 11, 4)),  # at opening: the next opening is Wednesday's
    (london(2026, 11, 3, 17, 30), date(2026, 11, 4)),
    (london(2026, 11, 6, 18, 0), date(2026, 11, 9)),  # Friday evening: Monday
    (london(2026, 11, 7, 8, 0), date(2026, 11, 9)),  # Saturday morning: the office is shut all day
    (london(2026, 12, 24, 18, 0), date(2026, 12, 29)),  # Christmas Eve evening: 25, 26 (Sat), 28 (substitute)
    (london(2027, 5, 3, 2, 0), date(2027, 5, 4)),  # 02:00 on the May bank holiday: Tuesday
])
def test_the_next_working_day_is_the_day_the_office_next_opens(moment: datetime, day: date) -> None:
    assert next_opening_day(moment, OFFICE) == day
    assert next_working_day_close(moment, OFFICE) == london(day.year, day.month, day.day, 17, 0)


@settings(max_examples=300, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)))
def test_next_working_day_opens_after_the_moment_and_no_working_day_opens_between(moment: datetime) -> None:
    day = next_opening_day(moment, OFFICE)
    opens = london(day.year, day.month, day.day, 9, 0)
    assert OFFICE.is_working_day(day) and opens > moment
    earlier = day - timedelta(days=1)
    while earlier >= moment.astimezone(LONDON).date():
        assert not (OFFICE.is_working_day(earlier) and london(earlier.year, earlier.month, earlier.day, 9, 0) > moment)
        earlier -= timedelta(days=1)


def test_the_next_time_of_day_is_strictly_after_the_moment_and_keeps_the_wall_clock() -> None:
    assert next_time_of_day(london(2026, 11, 2, 21, 0), time(2)) == london(2026, 11, 3, 2, 0)
    assert next_time_of_day(london(2026, 11, 3, 2, 0), time(2)) == london(2026, 11, 4, 2, 0)
    assert next_time_of_day(london(2026, 11, 3, 1, 59), time(2)) == london(2026, 11, 3, 2, 0)
    # 01:30 on 28 March 2027 does not exist: it moves forward by the gap to 02:30 BST.
    assert next_time_of_day(london(2027, 3, 27, 22, 0), time(1, 30)) == london(2027, 3, 28, 2, 30)


@pytest.mark.parametrize(("given", "advice"), [
    # London's offset at that wall-clock time: GMT (+00:00) in winter, BST (+01:00) in summer, the change at
    # 01:00 UTC on the last Sunday of March (29 March 2026) and of October (25 October 2026).
    ("2026-11-07T10:00", "write 2026-11-07T10:00:00+00:00 if it is London time, or 2026-11-07T10:00:00Z if it is UTC"),
    ("2026-07-01T10:00", "write 2026-07-01T10:00:00+01:00 if it is London time, or 2026-07-01T10:00:00Z if it is UTC"),
    ("2026-03-29T00:59", "write 2026-03-29T00:59:00+00:00 if it is London time"),  # just before the clocks go forward
    ("2026-03-29T01:30", "is not a time London had (the clocks went forward): write 2026-03-29T01:30:00Z if it is UTC"),
    ("2026-03-29T02:00", "write 2026-03-29T02:00:00+01:00 if it is London time"),  # just after
    ("2026-10-25T00:59", "write 2026-10-25T00:59:00+01:00 if it is London time"),  # just before the clocks go back
    ("2026-10-25T01:30", "London had that time twice (the clocks went back): write 2026-10-25T01:30:00+01:00 for the "
                         "first, 2026-10-25T01:30:00+00:00 for the second"),
    ("2026-10-25T02:00", "write 2026-10-25T02:00:00+00:00 if it is London time"),  # just after
    ("not a time", "this timestamp has no UTC offset; add Z (UTC) or London's offset then (+00:00 or +01:00)"),
])
def test_a_timestamp_without_an_offset_gets_the_offset_london_had_then(given: str, advice: str) -> None:
    assert advice in without_offset(given)
