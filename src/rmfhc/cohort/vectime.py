"""The time rules of `rmfhc.dates`, for whole columns of instants at once (numpy), for the cohort evaluator.

Instants are int64 nanoseconds since 1970 in UTC; `NAT` (the smallest int64) marks an unknown time and stays
unknown through every function. Each function here gives exactly what its `rmfhc.dates` counterpart gives for
each element (a property test checks it): Europe/London wall clock for days, weeks and months, a skipped time
moved forward by the gap and a repeated one read as its first occurrence, working days without England and
Wales bank holidays, and the next working day as the day the office next opens.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import numpy.typing as npt

from ..dates import LONDON, Duration, OfficeHours, Unit, is_bank_holiday

Instants = npt.NDArray[np.int64]
NAT = np.iinfo(np.int64).min
NS = 1_000_000_000
MINUTE = 60 * NS
HOUR = 60 * MINUTE
DAY = 24 * HOUR
_FIRST_YEAR, _LAST_YEAR = 1900, 2200


@lru_cache(maxsize=1)
def _transitions() -> tuple[Instants, Instants, Instants]:
    """London's offset changes: (UTC instants, local thresholds, offset after each), with the offset before the
    first as element 0 at the smallest instant."""
    instants, offsets = [NAT], [0]
    previous = 0
    moment = datetime(_FIRST_YEAR, 1, 1, tzinfo=UTC)
    end = datetime(_LAST_YEAR, 1, 1, tzinfo=UTC)
    step = timedelta(hours=1)
    # Walk the years a day at a time, then find each change to the hour (London changes at 01:00 UTC).
    while moment < end:
        nxt = moment + timedelta(days=1)
        offset = int(nxt.astimezone(LONDON).utcoffset().total_seconds()) * NS  # type: ignore[union-attr]
        if offset != previous:
            probe = moment
            while int(probe.astimezone(LONDON).utcoffset().total_seconds()) * NS == previous:  # type: ignore[union-attr]
                probe += step
            instants.append(int(probe.timestamp()) * NS)
            offsets.append(offset)
            previous = offset
        moment = nxt
    utc = np.array(instants, dtype=np.int64)
    after = np.array(offsets, dtype=np.int64)
    before = np.concatenate(([0], after[:-1]))
    # fold=0, as zoneinfo reads it: a wall-clock time before the transition's end in local terms (the later of
    # the two offsets) takes the offset before it: a skipped time moves forward, a repeated one is the first.
    local = np.where(utc == NAT, NAT, utc + np.maximum(before, after))
    return utc, local, after


def _known(values: Instants) -> npt.NDArray[np.bool_]:
    known: npt.NDArray[np.bool_] = np.not_equal(values, NAT)
    return known


def offset_at(utc: Instants) -> Instants:
    """London's UTC offset, in nanoseconds, at each instant."""
    instants, _, after = _transitions()
    return after[np.searchsorted(instants, utc, side="right") - 1]


def to_local(utc: Instants) -> Instants:
    """Wall-clock London time, as nanoseconds since 1970 on a clock that ignores the offset."""
    return np.where(_known(utc), utc + offset_at(utc), NAT)


def from_local(local: Instants) -> Instants:
    """The instant a London wall-clock time names: a skipped time moves forward by the gap, a repeated one is
    its first (summer time) occurrence, as `dates.local_datetime` and `dates.add` read them."""
    _, thresholds, after = _transitions()
    offset = after[np.searchsorted(thresholds, local, side="right") - 1]
    return np.where(_known(local), local - offset, NAT)


def _days(local: Instants) -> tuple[npt.NDArray[np.int64], Instants]:
    """Whole days since 1970 and the time of day, of wall-clock times."""
    days = np.floor_divide(local, DAY)
    return days, local - days * DAY


def add(utc: Instants, duration: Duration, office: OfficeHours) -> Instants:
    """`dates.add` for every element."""
    unit, n = duration.unit, duration.amount
    if unit is Unit.HOURS:
        return np.where(_known(utc), utc + n * HOUR, NAT)
    if unit is Unit.MINUTES:
        return np.where(_known(utc), utc + n * MINUTE, NAT)
    local = to_local(utc)
    if unit is Unit.WORKING_DAYS:
        days, _ = _days(local)
        return close_of(working_days_after(days, n, office), office, _known(utc))
    if unit is Unit.DAYS or unit is Unit.WEEKS:
        step = n * DAY * (7 if unit is Unit.WEEKS else 1)
        return np.where(_known(utc), from_local(local + step), NAT)
    return np.where(_known(utc), from_local(add_months_local(local, n)), NAT)


def subtract(utc: Instants, duration: Duration) -> Instants:
    """`dates.subtract` for every element (no working days)."""
    unit, n = duration.unit, duration.amount
    if unit is Unit.WORKING_DAYS:
        raise ValueError("a rolling window cannot be counted in working days")
    if unit is Unit.HOURS or unit is Unit.MINUTES:
        return np.where(_known(utc), utc - n * (HOUR if unit is Unit.HOURS else MINUTE), NAT)
    local = to_local(utc)
    if unit is Unit.MONTHS:
        return np.where(_known(utc), from_local(add_months_local(local, -n)), NAT)
    step = n * DAY * (7 if unit is Unit.WEEKS else 1)
    return np.where(_known(utc), from_local(local - step), NAT)


def add_months_local(local: Instants, months: int) -> Instants:
    """Calendar months on wall-clock times; a day past the end of the target month runs to its last day."""
    days, clock = _days(np.where(_known(local), local, 0))
    day = days.astype("datetime64[D]")
    month = day.astype("datetime64[M]")
    day_of_month = (day - month.astype("datetime64[D]")).astype(np.int64)
    target = month + months
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(np.int64)
    new_day = target.astype("datetime64[D]") + np.minimum(day_of_month, length - 1)
    return np.where(_known(local), new_day.astype(np.int64) * DAY + clock, NAT)


@lru_cache(maxsize=8)
def _calendar(office: OfficeHours) -> tuple[int, npt.NDArray[np.int64]]:
    """Cumulative working days from 1 January of the first year: (first day number, counts)."""
    first = date(_FIRST_YEAR, 1, 1)
    start = (first - date(1970, 1, 1)).days
    total = (date(_LAST_YEAR, 1, 1) - first).days
    working = np.fromiter((
        (first + timedelta(days=i)).weekday() in office.weekdays and not is_bank_holiday(first + timedelta(days=i))
        for i in range(total)), dtype=np.int64, count=total)
    return start, np.cumsum(working)


def working_days_after(days: npt.NDArray[np.int64], n: int, office: OfficeHours) -> npt.NDArray[np.int64]:
    """`dates.working_days_after` on day numbers (days since 1970)."""
    start, counts = _calendar(office)
    index = np.clip(days - start, 0, len(counts) - 1)
    target = counts[index] + n
    return np.searchsorted(counts, target, side="left") + start


def next_opening_day(utc: Instants, office: OfficeHours) -> npt.NDArray[np.int64]:
    """`dates.next_opening_day`: the day (number) on which the office next opens after each instant."""
    days, clock = _days(to_local(utc))
    start, counts = _calendar(office)
    index = np.clip(days - start, 0, len(counts) - 1)
    working = counts[index] - np.where(index > 0, counts[index - 1], 0) > 0
    opens = (office.opens.hour * 60 + office.opens.minute) * MINUTE
    return np.where(working & (clock < opens), days, working_days_after(days, 1, office))


def close_of(days: npt.NDArray[np.int64], office: OfficeHours, known: npt.NDArray[np.bool_] | None = None) -> Instants:
    """Closing time on each day (number), as an instant."""
    closes = (office.closes.hour * 60 + office.closes.minute) * MINUTE
    result = from_local(days * DAY + closes)
    return result if known is None else np.where(known, result, NAT)


def next_working_day_close(utc: Instants, office: OfficeHours) -> Instants:
    """`dates.next_working_day_close` for every element."""
    return close_of(next_opening_day(utc, office), office, _known(utc))


def next_time_of_day(utc: Instants, hour: int, minute: int) -> Instants:
    """`dates.next_time_of_day`: the first instant after each one at which London's clock shows hour:minute."""
    days, _ = _days(to_local(utc))
    clock = (hour * 60 + minute) * MINUTE
    candidate = from_local(days * DAY + clock)
    later = from_local((days + 1) * DAY + clock)
    return np.where(_known(utc), np.where(candidate <= utc, later, candidate), NAT)


def instants(moments: list[datetime | None]) -> Instants:
    """A column of instants from aware datetimes (None for unknown)."""
    return np.fromiter((NAT if m is None else _ns(m) for m in moments), dtype=np.int64, count=len(moments))


def _ns(moment: datetime) -> int:
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * NS + delta.microseconds * 1000


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_datetime(value: int) -> datetime | None:
    """An instant back as an aware UTC datetime."""
    return None if value == NAT else _EPOCH + timedelta(microseconds=value // 1000)
