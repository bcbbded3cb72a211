"""Derived tables the analyst views read: the business calendar and item responses.

`business_calendar` holds one row per working day (opening and closing instants in UTC and
as epoch seconds), so a view can count business hours between two instants on either
dialect. `item_responses` holds, for every public item, whether it needs a reply and when
the council first replied in its thread. `refresh_derived` rebuilds both; it is
idempotent and cheap enough to run after every ingestion.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache

import holidays
from sqlalchemy import Engine, and_, delete, insert, select

from channelwatch.warehouse.locks import xact_lock
from channelwatch.warehouse.schema import business_calendar, item_responses, items
from checks import needs_reply
from kernel.config import BusinessHours, Settings

CALENDAR_YEARS_BACK = 3
CALENDAR_YEARS_AHEAD = 2


@lru_cache(maxsize=16)
def _holidays(nations: tuple[str, ...], years: tuple[int, ...]) -> frozenset[date]:
    days: set[date] = set()
    for nation in nations:
        days.update(holidays.UK(subdiv=nation, years=list(years)).keys())
    return frozenset(days)


def working_days(
    bh: BusinessHours, start: date, end: date
) -> list[tuple[date, datetime, datetime]]:
    """Working days in [start, end] with their opening and closing instants in UTC."""
    weekdays = {("mon", "tue", "wed", "thu", "fri", "sat", "sun").index(d) for d in bh.days}
    closed = _holidays(tuple(sorted(bh.holiday_nations)), tuple(range(start.year, end.year + 1)))
    zone = bh.zone
    out = []
    day = start
    while day <= end:
        if day.weekday() in weekdays and day not in closed:
            opens = datetime.combine(day, bh.start, zone).astimezone(timezone.utc)
            closes = datetime.combine(day, bh.end, zone).astimezone(timezone.utc)
            out.append((day, opens, closes))
        day += timedelta(days=1)
    return out


class Calendar:
    """Business-hours arithmetic over a precomputed list of working intervals."""

    def __init__(self, bh: BusinessHours, start: date, end: date) -> None:
        rows = working_days(bh, start, end)
        self.opens = [r[1].timestamp() for r in rows]
        self.closes = [r[2].timestamp() for r in rows]
        # cumulative business seconds before each interval
        self.before = [0.0]
        for o, c in zip(self.opens, self.closes):
            self.before.append(self.before[-1] + (c - o))

    def _elapsed(self, ts: float) -> float:
        """Business seconds from the calendar's start to ts."""
        i = bisect.bisect_right(self.opens, ts) - 1
        if i < 0:
            return 0.0
        return self.before[i] + min(max(ts - self.opens[i], 0.0), self.closes[i] - self.opens[i])

    def hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours from start to end (0 if end is not after start)."""
        if end <= start:
            return 0.0
        return (self._elapsed(end.timestamp()) - self._elapsed(start.timestamp())) / 3600.0


def refresh_business_calendar(settings: Settings, engine: Engine, today: date) -> int:
    """Rewrite business_calendar for a window around today; returns the row count."""
    bh = settings.business_hours
    start = date(today.year - CALENDAR_YEARS_BACK, 1, 1)
    end = date(today.year + CALENDAR_YEARS_AHEAD, 12, 31)
    rows = [
        {
            "day": d.isoformat(),
            "opens_at": o,
            "closes_at": c,
            "opens_epoch": int(o.timestamp()),
            "closes_epoch": int(c.timestamp()),
        }
        for d, o, c in working_days(bh, start, end)
    ]
    with engine.begin() as conn:
        xact_lock(conn, "derived")
        existing = conn.execute(
            select(
                business_calendar.c.day,
                business_calendar.c.opens_epoch,
                business_calendar.c.closes_epoch,
            )
        ).all()
        if sorted((r.day, r.opens_epoch, r.closes_epoch) for r in existing) == [
            (r["day"], r["opens_epoch"], r["closes_epoch"]) for r in rows
        ]:
            return len(rows)
        conn.execute(delete(business_calendar))
        conn.execute(insert(business_calendar), rows)
    return len(rows)


def refresh_item_responses(
    settings: Settings, engine: Engine, now: datetime, platforms: Iterable[str] | None = None
) -> int:
    """Recompute item_responses for public items; returns the number of rows written."""
    calendar = Calendar(
        settings.business_hours,
        date(now.year - CALENDAR_YEARS_BACK, 1, 1),
        date(now.year + CALENDAR_YEARS_AHEAD, 12, 31),
    )
    written = 0
    with engine.begin() as conn:
        xact_lock(conn, "derived")
        query = select(
            items.c.platform,
            items.c.item_id,
            items.c.account_id,
            items.c.is_own,
            items.c.parent_id,
            items.c.root_id,
            items.c.created_at,
            items.c.text,
            items.c.deleted_at,
        ).order_by(items.c.platform, items.c.root_id, items.c.created_at)
        if platforms:
            query = query.where(items.c.platform.in_(list(platforms)))
        rows = conn.execute(query).all()
        conn.execute(
            delete(item_responses).where(
                and_(item_responses.c.platform.in_(sorted({r.platform for r in rows}) or [""]))
            )
        )
        out = []
        # Group by thread; the council's first reply after a public item, anywhere in its
        # thread, answers it (platforms thread differently, so depth is not required).
        thread: list = []
        for row in rows + [None]:
            if thread and (
                row is None
                or (row.platform, row.root_id) != (thread[0].platform, thread[0].root_id)
            ):
                own_times = [(r.created_at, r.item_id) for r in thread if r.is_own]
                for r in thread:
                    if r.is_own or r.deleted_at is not None:
                        continue
                    reply = next(((t, i) for t, i in own_times if t > r.created_at), None)
                    out.append(
                        {
                            "platform": r.platform,
                            "item_id": r.item_id,
                            "account_id": r.account_id,
                            "created_at": r.created_at,
                            "created_epoch": int(r.created_at.timestamp()),
                            "needs_reply": bool(needs_reply(r.text)),
                            "first_reply_id": reply[1] if reply else None,
                            "first_reply_at": reply[0] if reply else None,
                            "response_business_hours": (
                                round(calendar.hours_between(r.created_at, reply[0]), 3)
                                if reply
                                else None
                            ),
                            "computed_at": now,
                        }
                    )
                thread = []
            if row is not None:
                thread.append(row)
        for start in range(0, len(out), 1000):
            conn.execute(insert(item_responses), out[start : start + 1000])
        written = len(out)
    return written


def refresh_derived(settings: Settings, engine: Engine, now: datetime | None = None) -> dict:
    """Rebuild the business calendar and item responses."""
    now = now or datetime.now(timezone.utc)
    return {
        "business_calendar": refresh_business_calendar(settings, engine, now.date()),
        "item_responses": refresh_item_responses(settings, engine, now),
    }
