"""A whole day without Airflow (`channelwatch run --date D`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine

from channelwatch.pipeline.errors import PipelineError
from channelwatch.pipeline.gate import ingest
from channelwatch.pipeline.housekeeping import monitoring_gaps
from channelwatch.pipeline.scope import scope_items, validate_scope
from channelwatch.pipeline.steps import alert, check, refresh, report
from channelwatch.warehouse.load import utcnow as _utcnow
from kernel.config import Settings
from kernel.errors import UserError

log = logging.getLogger(__name__)


# -- a whole day without Airflow, and the deadline callback -----------------------------------


def as_of_for_day(settings: Settings, day: date, now: datetime | None = None) -> datetime:
    """The instant a day's pass is checked as of: the end of that council-local day, or
    now for today."""
    now = now or _utcnow()
    zone = settings.business_hours.zone
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return min(now, end - timedelta(microseconds=1))


def run_day(
    settings: Settings,
    engine: Engine,
    day: date,
    *,
    now: datetime | None = None,
    progress: Callable[[str], None] | None = None,
    deliver: bool = False,
    ingest_accounts: bool = True,
) -> dict[str, Any]:
    """One pass for a day without Airflow: ingest every account, check, report.

    Today's pass is live: ingestion reads the platforms as they are now, and the checks
    and the report are as of when they run (after the ingestion, which they then count).
    A past day's pass is a backfill that runs the day as it stood then: ingestion asks
    the platforms for the look-back window that ends at the end of ``day`` (moving no
    watermark and marking nothing deleted), and the checks, the findings' events and the
    report are as of the end of ``day``. A failing account is reported and the others go
    on; quarantined batches are reported the same way.

    Args:
        now: the machine's clock for the whole pass (tests); default: the real time.

    Returns:
        {"ingest": [...], "failed": [...], "warnings": [...], "check": {...},
        "report": {...}}.
    """
    clock = now
    now = now or _utcnow()
    end_of_day = as_of_for_day(settings, day, now)
    backfill = end_of_day < now
    say = progress or (lambda message: None)
    out: dict[str, Any] = {"ingest": [], "failed": [], "warnings": [], "backfill": backfill}
    if ingest_accounts:
        for platform, account in settings.accounts.all():
            say(
                f"ingesting {platform} account {account.id} ({account.name})"
                + (f" up to {end_of_day.isoformat(timespec='seconds')}" if backfill else "")
            )
            try:
                figures = ingest(
                    settings,
                    engine,
                    platform,
                    account.id,
                    now=end_of_day if backfill else now,
                    until=end_of_day if backfill else None,
                    clock=clock,
                )
            except PipelineError as exc:
                say(f"  failed: {exc}")
                out["failed"].append(str(exc))
                continue
            say(
                f"  {figures['items_seen']} items seen, {figures['items_new']} new, "
                f"{figures['items_changed']} changed, {figures['items_deleted']} deleted, "
                f"{figures['api_calls']} API calls"
            )
            if figures.get("warning"):
                say(f"  {figures['warning']}")
                out["warnings"].append(figures["warning"])
            out["ingest"].append(figures)
    as_of = end_of_day if backfill else as_of_for_day(settings, day, clock or _utcnow())
    out["as_of"] = as_of.isoformat()
    say("refreshing derived tables")
    refresh(settings, engine, as_of)
    say("validating what the checks will read")
    scope = scope_items(settings, engine, as_of)
    out["validate"] = validate_scope(settings, engine, as_of, scope)
    if out["validate"]["quarantined"]:
        scope = scope_items(settings, engine, as_of)
    say(f"checking {len(scope)} items as of {as_of.isoformat(timespec='seconds')}")
    out["check"] = check(settings, engine, as_of, scope=scope)
    say(f"  {out['check']['findings']} findings ({out['check']['detected']} new)")
    try:
        out["alerted"] = alert(settings, engine, as_of)
    except UserError as exc:
        say(f"  safeguarding alerts failed: {exc}")
        out["failed"].append(f"safeguarding alerts: {exc}")
    out["gaps"] = monitoring_gaps(settings, engine, as_of)
    say("rendering the report")
    out["report"] = report(settings, engine, day, now=as_of, deliver=deliver)
    return out
