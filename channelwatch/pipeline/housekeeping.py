"""Housekeeping: retention, monitoring gaps, and the late-report callback's finding.

The findings about the pipeline itself are `checks.Finding`s of category ``pipeline``,
routed to comms, on an account (``account:<id>``) or a day (``report:<day>``).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, delete, func, select, tuple_, update

from channelwatch.pipeline.gate import CHUNK
from channelwatch.warehouse import load
from channelwatch.warehouse.load import utcnow as _utcnow
from channelwatch.warehouse.schema import (
    finding_events,
    findings,
    ingestion_runs,
    item_versions,
    items,
    quarantined_batches,
    raw_payloads,
)
from checks.finding import Finding
from kernel.config import Settings
from kernel.vocabulary import ACTIVE, PIPELINE_CATEGORY

log = logging.getLogger(__name__)


GAP_RULE = "pipeline.monitoring_gap"
LATE_RULE = "pipeline.report_late"


def _pipeline_finding(
    platform: str, item_id: str, rule: str, now: datetime, evidence: str
) -> Finding:
    """A finding about the pipeline itself: high, routed to comms, no deadline."""
    return Finding(
        item_id=item_id,
        platform=platform,
        category=PIPELINE_CATEGORY,
        rule=rule,
        severity="high",
        evidence=evidence,
        route="comms",
        due_at=None,
        detected_at=now,
    )


# -- housekeeping -----------------------------------------------------------------------------


def apply_retention(settings: Settings, engine: Engine, now: datetime) -> dict[str, int]:
    """Apply the retention periods as of ``now`` (idempotent).

    * Public comments, replies, mentions and messages created more than
      ``retention.public_comment_days`` ago lose their text (in ``items`` and every
      ``item_versions`` row) and their author id and name; ``author_ref`` (the keyed
      pseudonym) stays, and ``redacted_at`` records when. An item a finding still holds
      (new, open or acknowledged) is kept until the finding closes. The council's own
      posts are a public record and are kept.
    * Raw API pages received more than ``retention.raw_payload_days`` ago are deleted.
    * Closed findings (resolved, dismissed) last changed more than
      ``retention.findings_days`` ago are deleted with their events.
    * Quarantined batches older than ``public_comment_days`` are deleted (they hold texts).

    Returns:
        Rows changed per table.
    """
    r = settings.retention
    comment_cutoff = now - timedelta(days=r.public_comment_days)
    raw_cutoff = now - timedelta(days=r.raw_payload_days)
    finding_cutoff = now - timedelta(days=r.findings_days)
    held = (
        select(findings.c.finding_id)
        .where(
            findings.c.platform == items.c.platform,
            findings.c.item_id == items.c.item_id,
            findings.c.status.in_(ACTIVE),
        )
        .exists()
    )
    out = {
        "items_redacted": 0,
        "versions_redacted": 0,
        "raw_payloads_deleted": 0,
        "findings_deleted": 0,
        "quarantined_batches_deleted": 0,
    }
    with engine.begin() as conn:
        due = conn.execute(
            select(items.c.platform, items.c.item_id).where(
                items.c.is_own.is_(False),
                items.c.created_at < comment_cutoff,
                items.c.redacted_at.is_(None),
                ~held,
            )
        ).all()
        keys = [(p, i) for p, i in due]
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            out["items_redacted"] += conn.execute(
                update(items)
                .where(tuple_(items.c.platform, items.c.item_id).in_(chunk))
                .values(text="", author_id="", author_name="", redacted_at=now)
            ).rowcount
            out["versions_redacted"] += conn.execute(
                update(item_versions)
                .where(tuple_(item_versions.c.platform, item_versions.c.item_id).in_(chunk))
                .values(text="")
            ).rowcount
        out["raw_payloads_deleted"] = conn.execute(
            delete(raw_payloads).where(raw_payloads.c.received_at < raw_cutoff)
        ).rowcount
        old = select(findings.c.finding_id).where(
            findings.c.status.in_(("resolved", "dismissed")),
            findings.c.status_changed_at < finding_cutoff,
        )
        conn.execute(delete(finding_events).where(finding_events.c.finding_id.in_(old)))
        out["findings_deleted"] = conn.execute(
            delete(findings).where(findings.c.finding_id.in_(select(old.subquery().c.finding_id)))
        ).rowcount
        out["quarantined_batches_deleted"] = conn.execute(
            delete(quarantined_batches).where(quarantined_batches.c.quarantined_at < comment_cutoff)
        ).rowcount
    return {k: max(int(v), 0) for k, v in out.items()}


def gap_item_id(account_id: str) -> str:
    """The findings key of an account-level pipeline finding."""
    return f"account:{account_id}"


def monitoring_gaps(settings: Settings, engine: Engine, now: datetime) -> dict[str, Any]:
    """Record a finding for each account without a successful ingestion for too long.

    An account's gap is measured from its last successful run finished at or before
    ``now`` (or from when it was first configured, if it never succeeded). The finding,
    ``pipeline.monitoring_gap`` on item ``account:<id>`` (category ``pipeline``, high,
    routed to comms), is resolved automatically once ingestion succeeds again.

    Returns:
        {"gaps": ["platform:account_id", ...], **sync counts}.
    """
    from channelwatch.findings import sync_findings

    limit = timedelta(hours=settings.monitoring.gap_hours)
    run = ingestion_runs.c
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, now)
        from channelwatch.warehouse.schema import accounts as accounts_table

        first = {
            (p, a): at
            for p, a, at in conn.execute(
                select(
                    accounts_table.c.platform,
                    accounts_table.c.account_id,
                    accounts_table.c.first_configured_at,
                )
            )
        }
        last = {
            (p, a): at
            for p, a, at in conn.execute(
                select(run.platform, run.account_id, func.max(run.finished_at))
                .where(run.status == "success", run.finished_at <= now)
                .group_by(run.platform, run.account_id)
            )
        }
    found, scope, gaps = [], [], []
    for platform, account in settings.accounts.all():
        key = (platform, account.id)
        scope.append((platform, gap_item_id(account.id)))
        since = last.get(key)
        if since is not None and isinstance(since, str):
            since = datetime.fromisoformat(since)
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=timezone.utc)
        baseline = since or first.get(key) or now
        if now - baseline <= limit:
            continue
        hours = (now - baseline).total_seconds() / 3600
        what = (
            f"last successful ingestion {since.isoformat(timespec='minutes')}"
            if since
            else "never ingested successfully"
        )
        gaps.append(f"{platform}:{account.id}")
        found.append(
            _pipeline_finding(
                platform,
                gap_item_id(account.id),
                GAP_RULE,
                now,
                f"{account.name} ({platform} {account.id}): {what}; {hours:.0f} h without data, "
                f"more than the {settings.monitoring.gap_hours:g} h allowed",
            )
        )
    result = sync_findings(engine, found, now=now, scope=scope, tz=settings.business_hours.timezone)
    return {"gaps": gaps, **result.as_dict()}


def record_report_late(
    settings: Settings,
    engine: Engine,
    dag_run: Mapping[str, Any],
    deadline: Mapping[str, Any],
    now: datetime | None = None,
) -> str:
    """Record that a day's report missed its deadline: a ``pipeline.report_late`` finding
    (category pipeline, high, routed to comms) on item ``report:<day>``, so the lateness
    shows in the next report and in `channelwatch findings list`.

    Args:
        dag_run: the late run as the deadline callback receives it (logical_date, dag_run_id).
        deadline: the deadline (deadline_time).

    Returns:
        The message logged and recorded ("" for a backfill run, which is not late).
    """
    from channelwatch.findings import sync_findings

    # The lateness belongs to the deadline's moment, not to when the callback got to run.
    now = now or _deadline_time(deadline) or _utcnow()
    if str(dag_run.get("run_type") or "").lower().endswith("backfill"):
        # A backfill renders a past day now: it was never going to be ready by then.
        log.info("deadline of a backfill run %s ignored", dag_run.get("dag_run_id"))
        return ""
    logical = dag_run.get("logical_date") or dag_run.get("run_after") or ""
    day = str(logical)[:10] or now.date().isoformat()
    run_id = dag_run.get("dag_run_id") or dag_run.get("run_id") or "?"
    message = (
        f"the daily report of {day} (run {run_id}) was not ready by its deadline "
        f"{deadline.get('deadline_time') or ''}"
    )
    log.error("channelwatch: %s", message)
    sync_findings(
        engine,
        [_pipeline_finding("pipeline", f"report:{day}", LATE_RULE, now, message)],
        now=now,
        tz=settings.business_hours.timezone,
    )
    return message


def _deadline_time(deadline: Mapping[str, Any]) -> datetime | None:
    value = deadline.get("deadline_time")
    if value is None:
        return None
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
