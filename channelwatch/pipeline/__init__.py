"""The pipeline steps the DAGs and `channelwatch run` call.

Each step takes the validated `Settings`, a warehouse engine and the instants it works for,
and is idempotent for them: running it again for the same data interval, or later for a
past day, leaves the warehouse as the first run left it.

Steps:
    ingest(settings, engine, platform, account_id, interval=, now=)
        One incremental pass of one account, through the data-quality gate: every batch is
        validated by Great Expectations (checks.quality) before it is loaded, and the API's
        reported totals are checked once the pass's batches are committed. A failing batch
        is not loaded: it is stored in ``quarantined_batches`` with its validation result,
        the run is marked ``quarantined``, and `BatchQuarantined` is raised.
    refresh(settings, engine, now)
        The derived tables the analyst views read (business calendar, item responses).
    validate_scope(settings, engine, as_of)
        The batch suite again over what the checks are about to read, as of ``as_of``
        (defence in depth for data loaded by other paths, and for parents and accounts that
        only the whole warehouse can tell); failing items are held back.
    check(settings, engine, as_of)
        The compliance checks over the items in scope (see `scope_items`) and the findings'
        lifecycle (channelwatch.findings.sync_findings).
    alert(settings, engine)
        Immediate safeguarding alerts (channelwatch.delivery).
    report(settings, engine, report_date, now=, deliver=)
        Render the day's report (channelwatch.report) and, for the daily run, email it.
    apply_retention(settings, engine, now)
        Public comments past retention lose their text and author (unless a finding holds
        them); raw pages and closed findings past theirs are removed.
    monitoring_gaps(settings, engine, now)
        An account without a successful ingestion for ``monitoring.gap_hours`` becomes a
        ``pipeline.monitoring_gap`` finding; it is resolved when ingestion succeeds again.

What the checks read, for a given ``as_of`` (`scope_items`): every item created at or
before ``as_of`` in a thread with any activity in the ``api.lookback_days`` before it —
the same window in which the connectors re-read comments — of a configured account, not
deleted at ``as_of`` and not held back by the quality gate. The scope depends only on the
warehouse and ``as_of``, so re-running a day or backfilling an old one checks the same
items; an answer that arrives late touches its thread and brings it back into scope, which
is how "unanswered" findings get resolved.
"""

from channelwatch.pipeline.day import as_of_for_day, run_day
from channelwatch.pipeline.errors import (
    BatchQuarantined,
    IngestionFailed,
    PipelineError,
)
from channelwatch.pipeline.gate import ingest, quarantine
from channelwatch.pipeline.housekeeping import (
    GAP_RULE,
    apply_retention,
    gap_item_id,
    monitoring_gaps,
    record_report_late,
)
from channelwatch.pipeline.scope import held_back, scope_items, validate_scope
from channelwatch.pipeline.steps import alert, check, refresh, report

__all__ = [
    "PipelineError",
    "IngestionFailed",
    "BatchQuarantined",
    "ingest",
    "quarantine",
    "refresh",
    "validate_scope",
    "scope_items",
    "held_back",
    "check",
    "alert",
    "report",
    "apply_retention",
    "monitoring_gaps",
    "gap_item_id",
    "run_day",
    "as_of_for_day",
    "record_report_late",
    "GAP_RULE",
]
