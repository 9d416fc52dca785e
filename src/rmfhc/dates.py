"""Time arithmetic for protocol deadlines, in Europe/London local time.

The rules, in one place (docs/time.md explains them with examples):

- "N hours" / "N minutes" are elapsed time: 72 hours across the October clock change is 72 real hours.
- "N days" / "N weeks" keep the Europe/London wall-clock time: 3 days after 10:00 Friday is 10:00 Monday,
  whatever the clock change in between. "N months" are calendar months; a day past the end of the target
  month runs to its last day (31 January + 1 month = 28 or 29 February).
- A wall-clock time that does not exist (the hour skipped in March) moves forward by the gap; an ambiguous
  one (the hour repeated in October) is read as the first, summer-time, occurrence.
- Working days are the office's working weekdays that are not England and Wales bank holidays.
  "Within N working days" ends at closing time on the Nth working day after the day the clock started;
  that day itself never counts. "The next working day" after a moment ends at closing time on the working
  day on which the office next opens: the same day for a moment before opening time on a working day.
- Ages are whole years on the local date of the instant that matters; a child born on 29 February has
  a birthday on 1 March in other years.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from dateutil.relativedelta import relativedelta

LONDON = ZoneInfo("Europe/London")

WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


class Unit(enum.StrEnum):
    """Units a protocol counts time in."""

    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"
    WEEKS = "weeks"
    MONTHS = "months"
    WORKING_DAYS = "working days"


_UNIT_WORDS = {
    "minute": Unit.MINUTES,
    "hour": Unit.HOURS,
    "day": Unit.DAYS,
    "calendar day": Unit.DAYS,
    "week": Unit.WEEKS,
    "month": Unit.MONTHS,
    "calendar month": Unit.MONTHS,
    "working day": Unit.WORKING_DAYS,
}
_DURATION = re.compile(r"^\s*(\d+)\s+([a-z ]+?)s?\s*$")


@dataclass(frozen=True, slots=True)
class Duration:
    """An amount of time as a protocol states it: `48 hours`, `3 working days`, `2 months`."""

    amount: int
    unit: Unit

    @property
    def elapsed(self) -> timedelta | None:
        """The duration as elapsed time, for hours and minutes; None for calendar units."""
        return _elapsed(self.amount, self.unit)

    @classmethod
    def parse(cls, text: str) -> Duration:
        """Read `N unit` (units: minutes, hours, days, calendar days, weeks, months, working days)."""
        match = _DURATION.match(text.lower())
        unit = _UNIT_WORDS.get(match.group(2).strip()) if match else None
        if match is None or unit is None:
            raise ValueError(
                f"'{text}' is not a duration; write a whole number and a unit, such as '24 hours', "
                "'3 days', '2 weeks', '2 months' or '3 working days'"
            )
        return cls(int(match.group(1)), unit)

    def __str__(self) -> str:
        unit = str(self.unit)
        return f"{self.amount} {unit[:-1] if self.amount == 1 else unit}"


@lru_cache(maxsize=256)
def _elapsed(amount: int, unit: Unit) -> timedelta | None:
    if unit is Unit.HOURS:
        return timedelta(hours=amount)
    if unit is Unit.MINUTES:
        return timedelta(minutes=amount)
    return None


@dataclass(frozen=True, slots=True)
class OfficeHours:
    """When the office is open: working weekdays (0 = Monday) and opening and closing times."""

    weekdays: frozenset[int]
    opens: time
    closes: time

    def is_working_day(self, day: date) -> bool:
        """A working weekday that is not an England and Wales bank holiday."""
        return day.weekday() in self.weekdays and not is_bank_holiday(day)

    def is_open(self, instant: datetime) -> bool:
        """True when `instant` falls inside office hours on a working day."""
        local = instant.astimezone(LONDON)
        return self.is_working_day(local.date()) and self.opens <= local.time() < self.closes

    def close_of(self, day: date) -> datetime:
        """Closing time on `day`, as an aware Europe/London datetime."""
        return local_datetime(datetime.combine(day, self.closes))


STANDARD_OFFICE_HOURS = OfficeHours(frozenset(range(5)), time(9), time(17))


@lru_cache(maxsize=256)
def _bank_holidays(year: int) -> frozenset[date]:
    return frozenset(holidays.country_holidays("GB", subdiv="ENG", years=year).keys())


def is_bank_holiday(day: date) -> bool:
    """England and Wales bank holidays, substitute days included."""
    return day in _bank_holidays(day.year)


def local_datetime(naive: datetime) -> datetime:
    """Attach Europe/London to a wall-clock time, moving a skipped time forward by the gap."""
    aware = naive.replace(tzinfo=LONDON, fold=0)
    return aware.astimezone(UTC).astimezone(LONDON)


@lru_cache(maxsize=16384)  # deadlines repeat the same few dates
def working_days_after(day: date, n: int, office: OfficeHours = STANDARD_OFFICE_HOURS) -> date:
    """The Nth working day after `day` (`day` itself never counts)."""
    if n < 1:
        raise ValueError("a count of working days must be at least 1")
    if not office.weekdays:
        raise ValueError("an office with no working days has no working day after any day")
    counted = 0
    candidate = day
    while counted < n:
        candidate += _ONE_DAY
        if candidate.weekday() in office.weekdays and not is_bank_holiday(candidate):
            counted += 1
    return candidate


_ONE_DAY = timedelta(days=1)


def next_working_day(day: date, office: OfficeHours = STANDARD_OFFICE_HOURS) -> date:
    """The first working day after `day`."""
    return working_days_after(day, 1, office)


def next_opening_day(moment: datetime, office: OfficeHours = STANDARD_OFFICE_HOURS) -> date:
    """The working day on which the office next opens after `moment`.

    Before opening time on a working day that is the same day (02:00 or 08:59 Tuesday: Tuesday); from opening
    time on, or on a day the office is shut, the next working day (09:00 Tuesday: Wednesday; 18:00 Friday:
    Monday, or Tuesday after a bank holiday Monday).
    """
    local = moment.astimezone(LONDON)
    day = local.date()
    if office.is_working_day(day) and local.time() < office.opens:
        return day
    return working_days_after(day, 1, office)


def next_working_day_close(moment: datetime, office: OfficeHours = STANDARD_OFFICE_HOURS) -> datetime:
    """"The next working day" after `moment`: closing time of `next_opening_day`, as a UTC datetime."""
    return _wall_to_utc(datetime.combine(next_opening_day(moment, office), office.closes))


def next_time_of_day(moment: datetime, clock: time) -> datetime:
    """The first instant after `moment` at which the Europe/London clock shows `clock`, as a UTC datetime.

    A time skipped in March moves forward by the gap; one repeated in October is its first occurrence.
    """
    local = moment.astimezone(LONDON)
    candidate = _wall_to_utc(datetime.combine(local.date(), clock))
    if candidate <= moment:
        candidate = _wall_to_utc(datetime.combine(local.date() + timedelta(days=1), clock))
    return candidate


def add(start: datetime, duration: Duration, office: OfficeHours = STANDARD_OFFICE_HOURS) -> datetime:
    """`start` plus `duration`, following the rules in this module's docstring, as a UTC datetime.

    UTC because Python compares two datetimes that share a ZoneInfo by wall clock, which misorders the
    hour repeated in October; UTC instants always compare as instants.
    """
    unit, n = duration.unit, duration.amount
    if unit is Unit.HOURS or unit is Unit.MINUTES:
        elapsed = duration.elapsed
        assert elapsed is not None
        return (start if start.tzinfo is UTC else start.astimezone(UTC)) + elapsed
    if unit is Unit.WORKING_DAYS:
        day = working_days_after(start.astimezone(LONDON).date(), n, office)
        return _wall_to_utc(datetime.combine(day, office.closes))
    wall = start.astimezone(LONDON).replace(tzinfo=None)
    if unit is Unit.DAYS:
        return _wall_to_utc(wall + timedelta(days=n))
    if unit is Unit.WEEKS:
        return _wall_to_utc(wall + timedelta(weeks=n))
    return _wall_to_utc(wall + relativedelta(months=n))


def _wall_to_utc(naive: datetime) -> datetime:
    # fold=0 reads a skipped time with the offset before the change, i.e. moves it forward by the gap.
    return naive.replace(tzinfo=LONDON).astimezone(UTC)


def subtract(end: datetime, duration: Duration) -> datetime:
    """`end` minus `duration` (not defined for working days), used for rolling windows; a UTC datetime."""
    unit, n = duration.unit, duration.amount
    if unit is Unit.WORKING_DAYS:
        raise ValueError("a rolling window cannot be counted in working days")
    if unit is Unit.HOURS or unit is Unit.MINUTES:
        elapsed = duration.elapsed
        assert elapsed is not None
        return end.astimezone(UTC) - elapsed
    wall = end.astimezone(LONDON).replace(tzinfo=None)
    if unit is Unit.DAYS:
        return _wall_to_utc(wall - timedelta(days=n))
    if unit is Unit.WEEKS:
        return _wall_to_utc(wall - timedelta(weeks=n))
    return _wall_to_utc(wall - relativedelta(months=n))


def age_on(date_of_birth: date, instant: datetime) -> int:
    """Whole years of age on the Europe/London date of `instant`."""
    today = instant.astimezone(LONDON).date()
    birthday_passed = (today.month, today.day) >= (date_of_birth.month, date_of_birth.day)
    return today.year - date_of_birth.year - (0 if birthday_passed else 1)


def without_offset(given: object) -> str:
    """What to say of a timestamp written without a UTC offset: the same wall-clock time with the offset London
    had then (+00:00 in winter, +01:00 in summer) if it is London time, or with Z if it is UTC. An hour the
    clocks repeat in October gets both offsets; an hour they skip in March is said not to exist in London."""
    try:
        naive = given if isinstance(given, datetime) else datetime.fromisoformat(str(given))
    except ValueError:
        return "this timestamp has no UTC offset; add Z (UTC) or London's offset then (+00:00 or +01:00)"
    naive = naive.replace(tzinfo=None)
    first, second = (naive.replace(tzinfo=LONDON, fold=fold) for fold in (0, 1))
    utc = f"{naive.isoformat()}Z if it is UTC"
    if first.utcoffset() == second.utcoffset():
        return f"'{given}' has no UTC offset: write {first.isoformat()} if it is London time, or {utc}"
    if first.astimezone(UTC).astimezone(LONDON).replace(tzinfo=None) != naive:
        return (f"'{given}' has no UTC offset, and is not a time London had (the clocks went forward): "
                f"write {utc}")
    return (f"'{given}' has no UTC offset, and London had that time twice (the clocks went back): write "
            f"{first.isoformat()} for the first, {second.isoformat()} for the second, or {utc}")
