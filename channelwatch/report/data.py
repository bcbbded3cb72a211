"""What the daily report shows, read from the warehouse with aggregating SQL.

Every figure is computed by the database (counts, percentiles by window functions, daily
buckets by CASE over precomputed day boundaries), so the report of a warehouse with millions
of items reads only the few thousand rows it shows. The report of day D describes the state
at ``as_of`` = the end of D in the council's time zone, or now when D is today; statuses are
reconstructed from finding_events, so a past day renders as it stood then.
"""

from __future__ import annotations

import dataclasses
import math
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Numeric,
    and_,
    case,
    cast,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from channelwatch.findings import ACTIVE, CATEGORIES, local_day_bounds, status_as_of
from channelwatch.warehouse.schema import (
    UTCDateTime,
    accounts,
    finding_events,
    findings,
    ingestion_runs,
    item_responses,
    items,
    quarantined_batches,
)
from kernel.config import Settings

TREND_DAYS = 30
SECTION_LIMIT = 20  # rows shown per section of the HTML; the CSV has every finding
PLATFORM_NAMES = {
    "pipeline": "channelwatch",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "youtube": "YouTube",
    "twitter": "X",
}
CATEGORY_NAMES = {
    "safeguarding": "Safeguarding",
    "foi_request": "FOI requests",
    "unanswered": "Unanswered",
    "third_party_advertising": "Third-party advertising",
    "off_brand": "Off-brand",
    "moderation": "Moderation",
    # Findings about channelwatch itself: monitoring gaps, a late report.
    "pipeline": "Monitoring",
}
ROUTE_NAMES = {
    "safeguarding_lead": "Safeguarding lead",
    "information_compliance": "Information Compliance Officer",
    "comms": "Comms team",
}


@dataclasses.dataclass(frozen=True, slots=True)
class Window:
    """The instants a report covers, all aware UTC."""

    report_date: date
    zone: ZoneInfo
    day_start: datetime
    day_end: datetime
    as_of: datetime
    until: datetime  # exclusive upper bound: everything at or before as_of is in
    trend_days: list[date]
    trend_bounds: list[tuple[datetime, datetime]]

    @property
    def until_epoch(self) -> int:
        """`until` for columns in whole epoch seconds (exclusive)."""
        if self.until >= self.day_end:
            return int(self.day_end.timestamp())
        return int(self.as_of.timestamp()) + 1

    @property
    def trend_start(self) -> datetime:
        return self.trend_bounds[0][0]

    @classmethod
    def for_day(cls, report_date: date, tz: str, now: datetime) -> Window:
        zone = ZoneInfo(tz)
        start, end = local_day_bounds(report_date, zone)
        days = [report_date - timedelta(days=TREND_DAYS - 1 - i) for i in range(TREND_DAYS)]
        as_of = min(now, end)
        until = min(now + timedelta(microseconds=1), end)
        return cls(
            report_date,
            zone,
            start,
            end,
            as_of,
            until,
            days,
            [local_day_bounds(d, zone) for d in days],
        )

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.zone)


def _day_bucket(column, bounds: list[tuple[datetime, datetime]], epoch: bool = False):
    """CASE expression: the index of the local day a timestamp falls in (None outside)."""
    whens = []
    for i, (start, end) in enumerate(bounds):
        if epoch:
            whens.append((and_(column >= int(start.timestamp()), column < int(end.timestamp())), i))
        else:
            whens.append(
                (and_(column >= literal(start, UTCDateTime), column < literal(end, UTCDateTime)), i)
            )
    return case(*whens, else_=None)


def channel_list(conn: Connection, settings: Settings) -> list[dict[str, Any]]:
    """Configured accounts first (in the configuration's order), then any others stored."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for platform, account in settings.accounts.all():
        out[(platform, account.id)] = {
            "platform": platform,
            "account_id": account.id,
            "name": account.name,
            "configured": True,
        }
    for platform, account_id, name in conn.execute(
        select(accounts.c.platform, accounts.c.account_id, accounts.c.display_name).order_by(
            accounts.c.platform, accounts.c.account_id
        )
    ):
        out.setdefault(
            (platform, account_id),
            {"platform": platform, "account_id": account_id, "name": name, "configured": False},
        )
    for ch in out.values():
        ch["label"] = f"{PLATFORM_NAMES.get(ch['platform'], ch['platform'])} · {ch['name']}"
        ch["key"] = f"{ch['platform']}:{ch['account_id']}"
    return list(out.values())


def items_per_channel(conn: Connection, w: Window) -> dict[str, dict[str, int]]:
    """Items published on the day per channel (public and council), and items ingested
    (new rows stored) by the day's ingestion runs."""
    out: dict[str, dict[str, int]] = {}
    for platform, account_id, is_own, n in conn.execute(
        select(items.c.platform, items.c.account_id, items.c.is_own, func.count())
        .where(items.c.created_at >= w.day_start, items.c.created_at < w.until)
        .group_by(items.c.platform, items.c.account_id, items.c.is_own)
    ):
        row = out.setdefault(
            f"{platform}:{account_id}", {"public": 0, "council": 0, "ingested": 0, "fetched": 0}
        )
        row["council" if is_own else "public"] += n
    for platform, account_id, new, seen in conn.execute(
        select(
            ingestion_runs.c.platform,
            ingestion_runs.c.account_id,
            func.coalesce(func.sum(ingestion_runs.c.items_new), 0),
            func.coalesce(func.sum(ingestion_runs.c.items_seen), 0),
        )
        .where(ingestion_runs.c.started_at >= w.day_start, ingestion_runs.c.started_at < w.until)
        .group_by(ingestion_runs.c.platform, ingestion_runs.c.account_id)
    ):
        row = out.setdefault(
            f"{platform}:{account_id}", {"public": 0, "council": 0, "ingested": 0, "fetched": 0}
        )
        row["ingested"] += int(new)
        row["fetched"] += int(seen)
    return out


def findings_then(w: Window):
    """The findings that matter to the day, with their status as of the report's instant.

    A finding matters when it was active at as_of, was detected during the day, or changed
    status during the day. Columns: every findings column plus ``status_then``.
    """
    then = func.coalesce(status_as_of(w.until - timedelta(microseconds=1)), literal("new"))
    return (
        select(findings, then.label("status_then"))
        .where(
            findings.c.detected_at < w.until,
            or_(findings.c.status.in_(ACTIVE), findings.c.status_changed_at >= w.day_start),
        )
        .subquery("fthen")
    )


def counts_by_category(conn: Connection, w: Window, fthen) -> dict[str, dict[str, int]]:
    """Per category: new (detected during the day), open (active at as_of, new included),
    overdue (active and past due), closed (resolved or dismissed during the day)."""
    active = fthen.c.status_then.in_(ACTIVE)
    rows = conn.execute(
        select(
            fthen.c.category,
            func.sum(case((fthen.c.detected_at >= w.day_start, 1), else_=0)),
            func.sum(case((active, 1), else_=0)),
            func.sum(case((and_(active, fthen.c.due_at < w.as_of), 1), else_=0)),
            func.sum(case((and_(active, fthen.c.detected_at < w.day_start), 1), else_=0)),
        ).group_by(fthen.c.category)
    )
    out = {
        c: {"new": 0, "open": 0, "overdue": 0, "carried_over": 0, "closed": 0} for c in CATEGORIES
    }
    for category, new, open_, overdue, carried in rows:
        out.setdefault(
            category, {"new": 0, "open": 0, "overdue": 0, "carried_over": 0, "closed": 0}
        )
        out[category].update(
            new=int(new or 0),
            open=int(open_ or 0),
            overdue=int(overdue or 0),
            carried_over=int(carried or 0),
        )
    for category, n in conn.execute(
        select(findings.c.category, func.count())
        .select_from(
            finding_events.join(findings, findings.c.finding_id == finding_events.c.finding_id)
        )
        .where(
            finding_events.c.at >= w.day_start,
            finding_events.c.at < w.until,
            finding_events.c.action.in_(("resolved", "dismissed")),
        )
        .group_by(findings.c.category)
    ):
        out.setdefault(
            category, {"new": 0, "open": 0, "overdue": 0, "carried_over": 0, "closed": 0}
        )["closed"] = int(n)
    return out


def _finding_rows(conn: Connection, w: Window, fthen, where, limit: int | None):
    # Most in need of attention first: not yet acknowledged before acknowledged, new today
    # before carried over, then as `channelwatch findings list` orders (category, severity,
    # due, detected) — so today's concerns are never below the fold of a long section.
    acknowledged = case((fthen.c.status_then == "acknowledged", 1), else_=0)
    carried = case((fthen.c.detected_at >= w.day_start, 0), else_=1)
    category_rank = case(
        {c: i for i, c in enumerate(CATEGORIES)}, value=fthen.c.category, else_=len(CATEGORIES)
    )
    severity_rank = case({"high": 0, "medium": 1, "low": 2}, value=fthen.c.severity, else_=3)
    query = (
        select(
            fthen,
            items.c.account_id,
            items.c.kind,
            items.c.is_own,
            items.c.author_name,
            items.c.created_at.label("item_created_at"),
            items.c.text.label("item_text"),
            items.c.url.label("item_url"),
            items.c.deleted_at.label("item_deleted_at"),
            items.c.redacted_at.label("item_redacted_at"),
        )
        .select_from(
            fthen.outerjoin(
                items,
                and_(items.c.platform == fthen.c.platform, items.c.item_id == fthen.c.item_id),
            )
        )
        .where(where)
        .order_by(
            acknowledged,
            carried,
            category_rank,
            severity_rank,
            case((fthen.c.due_at.is_(None), 1), else_=0),
            fthen.c.due_at,
            fthen.c.detected_at,
            fthen.c.finding_id,
        )
    )
    if limit is not None:
        query = query.limit(limit)
    return [dict(r._mapping) for r in conn.execute(query)]


# The "what must be done first" sections: (key, title, why, condition on the subquery).
def do_first_sections(w: Window, fthen) -> list[tuple[str, str, str, Any]]:
    active = fthen.c.status_then.in_(ACTIVE)
    return [
        (
            "safeguarding",
            "Safeguarding concerns",
            "Risk to a child or a vulnerable adult: the safeguarding lead acts at once.",
            and_(active, fthen.c.category == "safeguarding"),
        ),
        (
            "foi",
            "FOI requests",
            "Requests for recorded information: pass to the Information Compliance Officer; "
            "the council must answer within 20 working days of receipt.",
            and_(active, fthen.c.category == "foi_request"),
        ),
        (
            "overdue_unanswered",
            "Overdue unanswered items",
            "Questions, complaints and reports with no reply from the council past the "
            "response target.",
            and_(active, fthen.c.category == "unanswered", fthen.c.due_at < w.as_of),
        ),
        (
            "advertising_political",
            "Advertising and political breaches",
            "Paid third-party advertising and party-political content on the council's channels.",
            and_(
                active,
                or_(
                    fthen.c.category == "third_party_advertising",
                    fthen.c.rule == "off_brand.political",
                    fthen.c.rule.startswith("off_brand.political."),
                ),
            ),
        ),
    ]


def other_open_condition(w: Window, fthen):
    """Active findings not in any 'do first' section."""
    sections = do_first_sections(w, fthen)
    return and_(fthen.c.status_then.in_(ACTIVE), *[~cond for *_, cond in sections])


def section_rows(
    conn: Connection, w: Window, fthen, condition, limit: int | None = SECTION_LIMIT
) -> tuple[int, int, list[dict[str, Any]]]:
    """(how many findings meet the condition, how many of them are new today, the first
    `limit` of them, most urgent first)."""
    total, new = conn.execute(
        select(func.count(), func.sum(case((fthen.c.detected_at >= w.day_start, 1), else_=0)))
        .select_from(fthen)
        .where(condition)
    ).one()
    rows = _finding_rows(conn, w, fthen, condition, limit) if total else []
    return int(total), int(new or 0), rows


def all_rows(conn: Connection, w: Window, fthen) -> list[dict[str, Any]]:
    """Every finding that matters to the day (for the CSV), most urgent first."""
    return _finding_rows(conn, w, fthen, literal(True), None)


def _percentile(dist: list[tuple[float, int]], q: float) -> float | None:
    """The q-quantile of a sorted (value, count) distribution: for q = 0.5 the median (the
    mean of the middle one or two values), otherwise the nearest rank, ceil(q n)."""
    n = sum(c for _, c in dist)
    if not n:
        return None
    ranks = [(n + 1) // 2, (n + 2) // 2] if q == 0.5 else [max(math.ceil(q * n - 1e-9), 1)]
    found, seen = [], 0
    for value, count in dist:
        seen += count
        while ranks and ranks[0] <= seen:
            found.append(value)
            ranks.pop(0)
        if not ranks:
            break
    return round(sum(found) / len(found), 2)


def response_times(
    conn: Connection, w: Window, target_hours: float
) -> tuple[dict[str, dict[str, Any]], dict[str, list[float | None]]]:
    """Responsiveness per channel over the trend window, and its daily median.

    Public items that needed a reply and were created in the last TREND_DAYS days: how many,
    how many the council answered by as_of, how many within the target, and the median and
    90th-percentile (nearest rank) first-response time in business hours of the answered
    ones. The daily series is the median per channel by the local day the item was created.

    One pass of SQL groups the items by channel, day and response time to the hundredth of
    an hour (36 s): the percentiles are exact at that resolution, and the result is small
    whatever the number of items.
    """
    r = item_responses.c
    answered = and_(
        r.first_reply_at.is_not(None),
        r.first_reply_at < w.until,
        r.response_business_hours.is_not(None),
    )
    day = _day_bucket(r.created_epoch, w.trend_bounds, epoch=True).label("d")
    is_answered = case((answered, 1), else_=0).label("a")
    within = case((and_(answered, r.response_business_hours <= target_hours), 1), else_=0).label(
        "w"
    )
    hours = case(
        (answered, func.round(cast(r.response_business_hours, Numeric), 2)), else_=None
    ).label("h")
    sub = (
        select(r.platform, r.account_id, day, is_answered, within, hours)
        .where(
            r.needs_reply.is_(True),
            r.created_epoch >= int(w.trend_start.timestamp()),
            r.created_epoch < w.until_epoch,
        )
        .subquery()
    )
    rows = conn.execute(
        select(
            sub.c.platform, sub.c.account_id, sub.c.d, sub.c.a, sub.c.w, sub.c.h, func.count()
        ).group_by(sub.c.platform, sub.c.account_id, sub.c.d, sub.c.a, sub.c.w, sub.c.h)
    )
    totals: dict[str, dict[str, Any]] = {}
    whole: dict[str, dict[float, int]] = {}
    daily: dict[tuple[str, int], dict[float, int]] = {}
    for platform, account_id, d, a, wt, h, n in rows:
        key = f"{platform}:{account_id}"
        t = totals.setdefault(key, {"needing_reply": 0, "replied": 0, "replied_within_target": 0})
        t["needing_reply"] += n
        if a:
            t["replied"] += n
            t["replied_within_target"] += n if wt else 0
            value = float(h)
            bucket = whole.setdefault(key, {})
            bucket[value] = bucket.get(value, 0) + n
            if d is not None:
                per_day = daily.setdefault((key, int(d)), {})
                per_day[value] = per_day.get(value, 0) + n
    out: dict[str, dict[str, Any]] = {}
    for key, t in totals.items():
        dist = sorted(whole.get(key, {}).items())
        needing = t["needing_reply"]
        out[key] = {
            **t,
            "reply_rate": t["replied"] / needing if needing else None,
            "within_target_rate": t["replied_within_target"] / needing if needing else None,
            "median_hours": _percentile(dist, 0.5),
            "p90_hours": _percentile(dist, 0.9),
        }
    series: dict[str, list[float | None]] = {}
    for (key, d), counts in daily.items():
        series.setdefault(key, [None] * len(w.trend_days))[d] = _percentile(
            sorted(counts.items()), 0.5
        )
    return out, series


def trend_findings(conn: Connection, w: Window) -> dict[str, list[int]]:
    """Findings detected per local day per category over the trend window."""
    bucket = _day_bucket(findings.c.detected_at, w.trend_bounds).label("d")
    sub = (
        select(bucket, findings.c.category)
        .where(findings.c.detected_at >= w.trend_start, findings.c.detected_at < w.until)
        .subquery()
    )
    out = {c: [0] * len(w.trend_days) for c in CATEGORIES}
    for d, category, n in conn.execute(
        select(sub.c.d, sub.c.category, func.count())
        .where(sub.c.d.is_not(None))
        .group_by(sub.c.d, sub.c.category)
    ):
        out.setdefault(category, [0] * len(w.trend_days))[int(d)] = int(n)
    return out


def pipeline_health(
    conn: Connection, w: Window, settings: Settings, channels: list[dict[str, Any]]
) -> dict[str, Any]:
    """Accounts not ingested recently, failed runs and quarantined batches of the day, and
    the API calls and quota units the day's runs used."""
    run = ingestion_runs.c
    ok = and_(run.status == "success", run.finished_at.is_not(None), run.finished_at < w.until)
    last_ok: dict[str, datetime | None] = {}
    for platform, account_id, at in conn.execute(
        select(
            run.platform,
            run.account_id,
            type_coerce(func.max(case((ok, run.finished_at), else_=None)), UTCDateTime),
        )
        .where(run.started_at < w.until)
        .group_by(run.platform, run.account_id)
    ):
        last_ok[f"{platform}:{account_id}"] = at
    gap = timedelta(hours=settings.monitoring.gap_hours)
    accounts_out = []
    usage: dict[str, dict[str, int]] = {}
    for platform, account_id, status, n, calls, units in conn.execute(
        select(
            run.platform,
            run.account_id,
            run.status,
            func.count(),
            func.coalesce(func.sum(run.api_calls), 0),
            func.coalesce(func.sum(run.quota_units), 0),
        )
        .where(run.started_at >= w.day_start, run.started_at < w.until)
        .group_by(run.platform, run.account_id, run.status)
    ):
        u = usage.setdefault(
            f"{platform}:{account_id}", {"runs": 0, "failed": 0, "api_calls": 0, "quota_units": 0}
        )
        u["runs"] += int(n)
        u["failed"] += int(n) if status in ("failed", "quarantined", "abandoned") else 0
        u["api_calls"] += int(calls)
        u["quota_units"] += int(units)
    for ch in channels:
        if not ch["configured"]:
            continue
        at = last_ok.get(ch["key"])
        stale = at is None or at < w.as_of - gap
        u = usage.get(ch["key"], {"runs": 0, "failed": 0, "api_calls": 0, "quota_units": 0})
        quota = settings.api.youtube_daily_quota if ch["platform"] == "youtube" else None
        accounts_out.append(
            {
                **ch,
                "last_success_at": at,
                "not_ingested": stale,
                **u,
                "daily_quota": quota,
                "quota_share": (u["quota_units"] / quota) if quota else None,
            }
        )
    failed = [
        dict(r._mapping)
        for r in conn.execute(
            select(run.run_id, run.platform, run.account_id, run.started_at, run.status, run.error)
            .where(
                run.started_at >= w.day_start,
                run.started_at < w.until,
                run.status.in_(("failed", "quarantined", "abandoned")),
            )
            .order_by(run.started_at)
            .limit(50)
        )
    ]
    q = quarantined_batches.c
    in_day = and_(q.quarantined_at >= w.day_start, q.quarantined_at < w.until)
    unreleased = and_(
        q.quarantined_at < w.until, or_(q.released_at.is_(None), q.released_at >= w.until)
    )
    quarantined = [
        dict(r._mapping)
        for r in conn.execute(
            select(
                q.batch_id,
                q.run_id,
                q.platform,
                q.account_id,
                q.quarantined_at,
                q.item_count,
                q.failed_expectations,
                q.released_at,
            )
            .where(or_(in_day, unreleased))
            .order_by(q.quarantined_at.desc())
            .limit(50)
        )
    ]
    q_counts = conn.execute(
        select(
            func.coalesce(func.sum(case((in_day, 1), else_=0)), 0),
            func.coalesce(func.sum(case((unreleased, 1), else_=0)), 0),
            func.coalesce(func.sum(case((unreleased, q.item_count), else_=0)), 0),
        )
    ).one()
    return {
        "accounts": accounts_out,
        "not_ingested": [a for a in accounts_out if a["not_ingested"]],
        "failed_runs": failed,
        "quarantined": quarantined,
        "quarantined_today": int(q_counts[0]),
        "quarantined_unreleased": int(q_counts[1]),
        "quarantined_items_held": int(q_counts[2]),
        "api_calls": sum(a["api_calls"] for a in accounts_out),
        "quota_units": sum(a["quota_units"] for a in accounts_out),
    }
