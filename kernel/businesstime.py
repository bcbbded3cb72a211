"""Business-hours arithmetic and working-day deadlines.

The comms team's response target is counted in business hours (Europe/London,
Mon–Fri 09:00–17:00 by default) and FOI deadlines in working days; both skip the bank
holidays of every configured UK nation (the union of England and Wales, Scotland and
Northern Ireland by default, as the ICO expects for FOI). All functions take and return
timezone-aware datetimes; arithmetic is done on absolute time, so a business day that
contains a clock change is as long as it really was.

Conventions:
    - ``business_hours_between(a, b)`` is 0 when ``b <= a``.
    - ``add_business_hours(t, h)`` with ``h > 0`` lands inside or at the close of a
      business window, never at the next opening; with ``h == 0`` it returns ``t``.
      So ``business_hours_between(t, add_business_hours(t, h)) == h``.
    - ``add_working_days(t, n)`` does not count the day of ``t`` (ICO: "the first working
      day after the request is received is day one") and keeps ``t``'s local wall-clock time.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as _holidays

from kernel.config import WEEKDAYS, BusinessHours

__all__ = [
    "Calendar",
    "calendar",
    "business_hours_between",
    "add_business_hours",
    "add_working_days",
    "end_of_business_day",
    "is_working_day",
    "holidays_in",
]

_ONE_DAY = timedelta(days=1)
_MAX_DAYS = 366 * 30  # no business window for 30 years means the calendar is unusable


@functools.lru_cache(maxsize=256)
def _holiday_dates(nations: tuple[str, ...], year: int) -> frozenset[date]:
    out: set[date] = set()
    for nation in nations:
        out.update(_holidays.UK(subdiv=nation, years=year).keys())
    return frozenset(out)


def holidays_in(year: int, nations: tuple[str, ...] | list[str]) -> frozenset[date]:
    """Bank holidays in ``year`` in any of the given UK nations (ENG, WLS, SCT, NIR)."""
    return _holiday_dates(tuple(sorted(set(nations))), year)


_HOURS: dict[float, timedelta] = {}


@dataclass(frozen=True)
class Calendar:
    """A working calendar derived from `BusinessHours`; build it with `calendar(bh)`."""

    zone: ZoneInfo
    weekdays: frozenset[int]
    start: time
    end: time
    nations: tuple[str, ...]

    _windows: dict[date, tuple[datetime, datetime]] = field(
        default_factory=dict, compare=False, hash=False, repr=False
    )
    _working: dict[date, bool] = field(default_factory=dict, compare=False, hash=False, repr=False)
    _days: dict[date, tuple] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def is_working_day(self, day: date) -> bool:
        got = self._working.get(day)
        if got is None:
            got = day.weekday() in self.weekdays and day not in _holiday_dates(
                self.nations, day.year
            )
            self._working[day] = got
        return got

    def add_hours_utc(self, here: datetime, hours: float) -> datetime:
        """`add_business_hours` on a UTC datetime, in UTC (the checks' hot path).

        Fast path: the target falls on ``here``'s working day or the next working day
        (per local date, that day's window and the next working day's are cached);
        anything longer takes the day-by-day walk.
        """
        if hours == 0:
            return here
        remaining = _HOURS.get(hours)
        if remaining is None:
            remaining = _HOURS[hours] = timedelta(hours=hours)
        day = here.astimezone(self.zone).date()
        info = self._days.get(day)
        if info is None:
            info = self._day_info(day)
        window, following, nxt = info
        if window is not None:
            opens, closes = window
            lo = opens if opens > here else here
            if closes > lo:
                available = closes - lo
                if remaining <= available:
                    return lo + remaining
                remaining -= available
        for _ in range(_MAX_DAYS):  # then whole working days, from the cached windows
            opens, closes = following
            if remaining <= closes - opens:
                return opens + remaining
            remaining -= closes - opens
            info = self._days.get(nxt)
            if info is None:
                info = self._day_info(nxt)
            _, following, nxt = info
        return self._add_hours_walk(here, hours)

    def _day_info(
        self, day: date
    ) -> tuple[tuple[datetime, datetime] | None, tuple[datetime, datetime], date]:
        """(``day``'s window or None if not a working day, the next working day's window,
        the next working day)."""
        window = self.window(day) if self.is_working_day(day) else None
        nxt = day + _ONE_DAY
        for _ in range(_MAX_DAYS):
            if self.is_working_day(nxt):
                break
            nxt += _ONE_DAY
        else:
            raise ValueError("the business calendar has no working time")
        info = (window, self.window(nxt), nxt)
        self._days[day] = info
        return info

    def _add_hours_walk(self, here: datetime, hours: float) -> datetime:
        remaining = timedelta(hours=hours)
        day = here.astimezone(self.zone).date()
        working, windows = self._working, self._windows
        for _ in range(_MAX_DAYS):
            ok = working.get(day)
            if ok is None:
                ok = self.is_working_day(day)
            if ok:
                opens, closes = windows.get(day) or self.window(day)
                lo = opens if opens > here else here
                if closes > lo:
                    available = closes - lo
                    if remaining <= available:
                        return lo + remaining
                    remaining -= available
            day += _ONE_DAY
        raise ValueError("the business calendar has no working time")

    def window(self, day: date) -> tuple[datetime, datetime]:
        """Opening and closing instants of ``day``, in UTC.

        UTC, because Python compares and subtracts datetimes that share a tzinfo by wall
        clock, which would make a clock-change day an hour too long or short.
        """
        got = self._windows.get(day)
        if got is None:
            got = (
                datetime.combine(day, self.start, self.zone).astimezone(UTC),
                datetime.combine(day, self.end, self.zone).astimezone(UTC),
            )
            self._windows[day] = got
        return got


@functools.lru_cache(maxsize=64)
def _calendar(
    tz: str, days: tuple[str, ...], start: time, end: time, nations: tuple[str, ...]
) -> Calendar:
    return Calendar(
        ZoneInfo(tz),
        frozenset(WEEKDAYS.index(d) for d in days),
        start,
        end,
        tuple(sorted(set(nations))),
    )


def calendar(bh: BusinessHours | Calendar) -> Calendar:
    """The (cached) working calendar for a `BusinessHours` setting."""
    if isinstance(bh, Calendar):
        return bh
    return _calendar(bh.timezone, tuple(bh.days), bh.start, bh.end, tuple(bh.holiday_nations))


def _aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")


def is_working_day(day: date, bh: BusinessHours | Calendar) -> bool:
    """True when ``day`` is a configured weekday and no configured nation's bank holiday."""
    return calendar(bh).is_working_day(day)


def business_hours_between(start: datetime, end: datetime, bh: BusinessHours | Calendar) -> float:
    """Business hours elapsed from ``start`` to ``end`` (0 when ``end <= start``).

    Whole days in between come from a per-year table of cumulative business seconds, so
    the cost does not grow with the length of the interval.

    Args:
        start: aware datetime.
        end: aware datetime.
        bh: the business hours setting (or a `Calendar`).

    Returns:
        Hours as a float, counting only time inside working-day windows.
    """
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        return 0.0
    cal = calendar(bh)
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    first = start.astimezone(cal.zone).date()
    last = end.astimezone(cal.zone).date()
    if first == last:
        return _overlap(cal, first, start, end) / 3600.0
    seconds = _overlap(cal, first, start, end) + _overlap(cal, last, start, end)
    seconds += _whole_days(cal, first + timedelta(days=1), last - timedelta(days=1))
    return seconds / 3600.0


class HoursUntil:
    """``business_hours_between(start, end, cal)`` for one fixed ``end`` and many starts,
    as the checks need it (every unanswered item's wait until as-of): the business seconds
    from the day after a start's day up to ``end`` are computed once per day.

    Args:
        end: aware datetime.
        cal: the working calendar.
    """

    def __init__(self, end: datetime, cal: Calendar) -> None:
        _aware(end, "end")
        self.end = end.astimezone(UTC)
        self.cal = cal
        self.last = self.end.astimezone(cal.zone).date()
        self._rest: dict[date, float] = {}

    def __call__(self, start: datetime) -> float:
        end = self.end
        if start.tzinfo is not UTC:
            _aware(start, "start")
            start = start.astimezone(UTC)
        if end <= start:
            return 0.0
        cal = self.cal
        first = start.astimezone(cal.zone).date()
        if first == self.last:
            return _overlap(cal, first, start, end) / 3600.0
        rest = self._rest.get(first)
        if rest is None:
            # The last day's part does not depend on the start (it is on an earlier day).
            rest = _overlap(cal, self.last, start, end) + _whole_days(
                cal, first + timedelta(days=1), self.last - timedelta(days=1)
            )
            self._rest[first] = rest
        return (_overlap(cal, first, start, end) + rest) / 3600.0


def _overlap(cal: Calendar, day: date, start: datetime, end: datetime) -> float:
    if not cal.is_working_day(day):
        return 0.0
    opens, closes = cal.window(day)
    lo = max(opens, start)
    hi = min(closes, end)
    return (hi - lo).total_seconds() if hi > lo else 0.0


@functools.lru_cache(maxsize=512)
def _cumulative(cal: Calendar, year: int) -> tuple[float, ...]:
    """cum[i] = business seconds in the year's days before day-of-year i+1 (cum[0] = 0)."""
    out = [0.0]
    day = date(year, 1, 1)
    while day.year == year:
        seconds = 0.0
        if cal.is_working_day(day):
            opens, closes = cal.window(day)
            seconds = (closes - opens).total_seconds()
        out.append(out[-1] + seconds)
        day += timedelta(days=1)
    return tuple(out)


def _whole_days(cal: Calendar, first: date, last: date) -> float:
    """Business seconds in the whole days first..last inclusive."""
    if last < first:
        return 0.0
    total = 0.0
    for year in range(first.year, last.year + 1):
        cum = _cumulative(cal, year)
        a = first.timetuple().tm_yday - 1 if year == first.year else 0
        b = last.timetuple().tm_yday if year == last.year else len(cum) - 1
        total += cum[b] - cum[a]
    return total


def add_business_hours(start: datetime, hours: float, bh: BusinessHours | Calendar) -> datetime:
    """The instant ``hours`` business hours after ``start``.

    Args:
        start: aware datetime.
        hours: non-negative number of business hours.
        bh: the business hours setting (or a `Calendar`).

    Returns:
        An aware datetime in the calendar's time zone.

    Raises:
        ValueError: for negative hours or a naive ``start``.
    """
    _aware(start, "start")
    if hours < 0:
        raise ValueError("hours must not be negative")
    cal = calendar(bh)
    return cal.add_hours_utc(start.astimezone(UTC), hours).astimezone(cal.zone)


def add_working_days(start: datetime, n: int, bh: BusinessHours | Calendar) -> datetime:
    """The same local wall-clock time on the ``n``-th working day after ``start``'s date.

    The day of ``start`` is not counted, whether or not it is a working day.

    Args:
        start: aware datetime.
        n: number of working days (>= 0; 0 returns ``start``).
        bh: the business hours setting (or a `Calendar`).
    """
    _aware(start, "start")
    if n < 0:
        raise ValueError("n must not be negative")
    cal = calendar(bh)
    here = start.astimezone(cal.zone)
    if n == 0:
        return here
    day = here.date()
    counted = 0
    for _ in range(_MAX_DAYS):
        day += timedelta(days=1)
        if cal.is_working_day(day):
            counted += 1
            if counted == n:
                return datetime.combine(day, here.timetz().replace(tzinfo=None), cal.zone)
    raise ValueError("the business calendar has no working days")


def end_of_business_day(moment: datetime, bh: BusinessHours | Calendar) -> datetime:
    """Closing time (local) on ``moment``'s local date."""
    _aware(moment, "moment")
    cal = calendar(bh)
    return cal.window(moment.astimezone(cal.zone).date())[1].astimezone(cal.zone)
