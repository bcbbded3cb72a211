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

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from sqlalchemy import Engine, and_, delete, func, insert, or_, select, tuple_, update

from channelwatch.config import Settings
from channelwatch.errors import UserError
from channelwatch.ingest import IngestOutcome, fetching, ingest_account
from channelwatch.items import Item
from channelwatch.warehouse import load
from channelwatch.warehouse.locks import account_lock
from channelwatch.warehouse.schema import (
    finding_events,
    findings,
    ingestion_runs,
    item_versions,
    items,
    quarantined_batches,
    raw_payloads,
)
from connectors.errors import ConnectorError

__all__ = [
    "PipelineError", "IngestionFailed", "BatchQuarantined",
    "ingest", "refresh", "validate_scope", "scope_items", "check", "alert", "report",
    "apply_retention", "monitoring_gaps", "run_day", "as_of_for_day", "record_report_late",
    "GAP_RULE",
]

log = logging.getLogger(__name__)

GAP_RULE = "pipeline.monitoring_gap"
ACTIVE = ("new", "open", "acknowledged")
CHUNK = 500


class PipelineError(Exception):
    """A step failed; the message is one line naming the account or the day."""


class IngestionFailed(PipelineError):
    """An account's pass failed (the platform, the credentials, the network)."""


class BatchQuarantined(PipelineError):
    """A batch failed the data-quality gate and was quarantined, not loaded."""

    def __init__(self, message: str, batch_id: int) -> None:
        super().__init__(message)
        self.batch_id = batch_id


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# -- ingestion through the quality gate -------------------------------------------------------

class _Rejected(ConnectorError):
    """Raised inside the connector's generator: ingest_account records the run as failed
    (a ConnectorError, since what the platform returned is what was rejected)."""


@dataclasses.dataclass(slots=True)
class _Rejection:
    stage: str  # "batch": not loaded; "pass": loaded, then held back
    items: list[dict[str, Any]]
    result: Any  # checks.quality.QualityResult


class _Gate:
    """Wraps a connector so that each batch is validated before ingest_account loads it."""

    def __init__(self, settings: Settings, engine: Engine, platform: str, now: datetime) -> None:
        self.settings = settings
        self.engine = engine
        self.platform = platform
        self.now = now
        self.accounts = [a.id for a in getattr(settings.accounts, platform)]
        self.rejection: _Rejection | None = None

    def factory(self, inner: Callable) -> Callable:
        def build(platform, account, credentials, api):
            return _GatedConnector(inner(platform, account, credentials, api), self)
        return build

    def known_ids(self, ids: set[str]) -> set[str]:
        found: set[str] = set()
        ids_list = sorted(ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids_list), CHUNK):
                chunk = ids_list[start:start + CHUNK]
                found.update(conn.execute(select(items.c.item_id).where(
                    items.c.platform == self.platform, items.c.item_id.in_(chunk))).scalars())
        return found

    def counted(self, totals) -> list[tuple[Any, int]]:
        """How many stored, not deleted items each reported total's scope holds."""
        out = []
        by_scope: dict[str, list] = {"thread": [], "replies": []}
        for total in totals:
            by_scope[total.scope].append(total)
        with self.engine.connect() as conn:
            for scope, column in (("thread", items.c.root_id), ("replies", items.c.parent_id)):
                wanted = by_scope[scope]
                counts: dict[str, int] = {}
                ids = sorted({t.item_id for t in wanted})
                for start in range(0, len(ids), CHUNK):
                    chunk = ids[start:start + CHUNK]
                    for key, n in conn.execute(
                            select(column, func.count()).where(
                                items.c.platform == self.platform, column.in_(chunk),
                                items.c.item_id != column, items.c.deleted_at.is_(None))
                            .group_by(column)):
                        counts[key] = int(n)
                out.extend((t, counts.get(t.item_id, 0)) for t in wanted)
        return out

    def thread_items(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = sorted(set(ids))
        rows = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start:start + CHUNK]
                rows.extend(conn.execute(select(items).where(
                    items.c.platform == self.platform,
                    or_(items.c.item_id.in_(chunk), items.c.root_id.in_(chunk),
                        items.c.parent_id.in_(chunk)))).mappings().all())
        return [_item_dict(_row_item(row)) for row in rows]


class _GatedConnector:
    # The gate reads the warehouse (parents, counts) expecting every earlier batch to be
    # committed: ingest_account reads it in step with the loader; the platform connector
    # inside it is still prefetched.
    prefetch = False

    def __init__(self, inner, gate: _Gate) -> None:
        self.inner = inner
        self.gate = gate
        self.platform = getattr(inner, "platform", gate.platform)

    def fetch(self, state) -> Iterator:
        from checks import quality

        gate = self.gate
        totals: dict[str, Any] = {}
        seen: set[str] = set()
        orphans: list[Item] = []
        with fetching(self.inner, state) as batches:
            for batch in batches:
                parents = quality.parents_to_look_up(batch.items)
                known = gate.known_ids(parents - seen) | (parents & seen)
                # A parent neither here nor stored may still come later in the pass: those
                # replies are checked again once every batch is committed (validate_pass).
                later = parents - known
                result = quality.validate_batch(batch.items, platform=gate.platform,
                                                accounts=gate.accounts, now=gate.now,
                                                known_ids=known | later)
                if not result.success:
                    gate.rejection = _Rejection("batch", [_item_dict(i) for i in batch.items],
                                                result)
                    raise _Rejected(f"quality gate: {result.summary()}")
                orphans.extend(i for i in batch.items if i.parent_id not in (None, "")
                               and (str(i.parent_id) in later or str(i.root_id) in later))
                seen.update(str(i.id) for i in batch.items)
                # A backfill stores a past window: the API's totals count what came later.
                for total in (quality.reported_totals(batch.items, batch.pages)
                              if state.until is None else ()):
                    totals[total.item_id] = total
                yield batch
        # Every batch is committed by now (ingest_account loads one before asking for the
        # next), and watermarks are not yet written: a failure here leaves them behind.
        if orphans or totals:
            refs = {str(r) for i in orphans for r in (i.parent_id, i.root_id) if r}
            known = gate.known_ids(refs)
            result = quality.validate_pass(orphans, known, gate.counted(totals.values()))
            if not result.success:
                bad = {f for failure in result.failed if "parent_known" in failure["columns"]
                       for f in failure["examples"] if f}
                threads = {t for f in result.failed
                           if "counted" in f["columns"] for t in f["examples"] if t}
                held = gate.thread_items(threads) if threads else []
                held_ids = {h["id"] for h in held}
                held += [_item_dict(i) for i in orphans if str(i.id) in bad - held_ids]
                gate.rejection = _Rejection("pass", held, result)
                raise _Rejected(f"quality gate: {result.summary()}")

    def result(self):
        return self.inner.result()


def _item_dict(item: Any) -> dict[str, Any]:
    """An item as JSON for quarantined_batches, whatever is wrong with it."""
    if isinstance(item, Mapping):
        return json.loads(json.dumps(dict(item), default=str))
    out = {}
    for name in ("platform", "id", "kind", "account", "author_id", "author_name", "is_own",
                 "parent_id", "root_id", "created_at", "text", "url", "flags"):
        value = getattr(item, name, None)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return json.loads(json.dumps(out, default=str))


def _row_item(row: Mapping[str, Any]) -> Item:
    return Item(platform=row["platform"], id=row["item_id"], kind=row["kind"],
                account=row["account_id"], author_id=row["author_id"],
                author_name=row["author_name"], is_own=bool(row["is_own"]),
                parent_id=row["parent_id"], root_id=row["root_id"],
                created_at=row["created_at"], text=row["text"], url=row["url"],
                flags=dict(row["flags"] or {}))


def quarantine(engine: Engine, *, run_id: str, platform: str, account_id: str,
               items_json: list[dict[str, Any]], result: Any, stage: str, loaded: bool,
               now: datetime) -> int:
    """Store a batch that failed validation; returns its batch_id."""
    validation = dict(result.result)
    validation["channelwatch"] = {"stage": stage, "loaded": loaded, "suite": result.suite,
                                  "summary": result.summary()}
    with engine.begin() as conn:
        batch_id = conn.execute(insert(quarantined_batches).values(
            run_id=run_id, platform=platform, account_id=account_id, quarantined_at=now,
            item_count=len(items_json), failed_expectations=result.failed,
            validation_result=validation, items=items_json)
            .returning(quarantined_batches.c.batch_id)).scalar_one()
        if run_id:
            conn.execute(update(ingestion_runs).where(ingestion_runs.c.run_id == run_id)
                         .values(status="quarantined"))
    return int(batch_id)


def ingest(settings: Settings, engine: Engine, platform: str, account_id: str, *,
           interval: tuple[datetime, datetime] | None = None, now: datetime | None = None,
           until: datetime | None = None, clock: datetime | None = None,
           factory: Callable | None = None,
           credentials=None) -> dict[str, Any]:
    """One account's incremental pass, through the data-quality gate.

    Args:
        settings: the configuration.
        engine: the warehouse.
        platform, account_id: a configured account.
        interval: the orchestrator's data interval, recorded with the run.
        now: the pass's as-of time, on everything it records (default: the machine's
            clock: a live pass).
        until: a backfill's window end (see channelwatch.ingest.ingest_account); None for
            a live pass.
        clock: the machine's clock (tests fix it; default: read it when needed).
        factory: the connector factory (default: connectors.build).
        credentials: the account's credentials (default: from its Airflow connection).

    Returns:
        The run's figures: run_id, status, items seen/new/changed/deleted, API calls.

    Raises:
        BatchQuarantined: a batch failed validation (it is stored, not loaded).
        IngestionFailed: the pass failed; the message names the account and why.
    """
    import connectors  # noqa: PLC0415 - connector packages load only when a pass runs

    now = now or _utcnow()
    gate = _Gate(settings, engine, platform, now)
    # One pass of an account at a time, whoever started it (channelwatch.warehouse.locks):
    # a run of the account still "running" now is one whose process died.
    with account_lock(engine, platform, account_id):
        with engine.begin() as conn:
            load.abandon_unfinished(conn, platform, account_id)
        outcome: IngestOutcome = ingest_account(
            settings, engine, platform, account_id, now=now, until=until, clock=clock,
            interval=interval,
            credentials=credentials, factory=gate.factory(factory or connectors.build))
    figures = {"platform": platform, "account_id": account_id, "run_id": outcome.run_id,
               "status": outcome.status, "items_seen": outcome.stats.seen,
               "items_new": outcome.stats.new, "items_changed": outcome.stats.changed,
               "items_deleted": outcome.stats.deleted, "api_calls": outcome.api_calls,
               "quota_units": outcome.quota_units, "warning": outcome.warning}
    if gate.rejection is not None:
        rejection = gate.rejection
        batch_id = quarantine(engine, run_id=outcome.run_id, platform=platform,
                              account_id=account_id, items_json=rejection.items,
                              result=rejection.result, stage=rejection.stage,
                              loaded=rejection.stage == "pass", now=now)
        raise BatchQuarantined(
            f"{platform} account {account_id}: batch quarantined (quarantined_batches."
            f"batch_id={batch_id}, run {outcome.run_id}): {rejection.result.summary()}",
            batch_id)
    if outcome.status != "success":
        raise IngestionFailed(f"{platform} account {account_id}: {outcome.error}")
    return figures


def refresh(settings: Settings, engine: Engine, now: datetime) -> dict[str, int]:
    """Rebuild the derived tables the analyst views read (idempotent)."""
    from channelwatch.warehouse.derive import refresh_derived

    return refresh_derived(settings, engine, now)


# -- what the checks read ---------------------------------------------------------------------

def held_back(engine: Engine, as_of: datetime | None = None) -> set[tuple[str, str]]:
    """Keys of loaded items held in unreleased quarantined batches."""
    q = quarantined_batches.c
    query = select(q["items"], q.validation_result).where(q.released_at.is_(None))
    if as_of is not None:
        query = query.where(q.quarantined_at <= as_of)
    keys: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for stored, validation in conn.execute(query):
            meta = (validation or {}).get("channelwatch") or {}
            if not meta.get("loaded"):
                continue
            for entry in stored or []:
                if isinstance(entry, Mapping) and entry.get("platform") and entry.get("id"):
                    keys.add((str(entry["platform"]), str(entry["id"])))
    return keys


def _window(settings: Settings) -> timedelta:
    return timedelta(days=max(settings.api.lookback_days, 1))


def scope_items(settings: Settings, engine: Engine, as_of: datetime) -> list[Item]:
    """The items the checks evaluate as of ``as_of`` (see the module docstring)."""
    start = as_of - _window(settings)
    configured = [(p, a.id) for p, a in settings.accounts.all()]
    if not configured:
        return []
    touched = (select(items.c.platform, items.c.root_id)
               .where(items.c.created_at > start, items.c.created_at <= as_of)
               .distinct().subquery())
    query = (select(items)
             .join(touched, and_(touched.c.platform == items.c.platform,
                                 touched.c.root_id == items.c.root_id))
             .where(items.c.created_at <= as_of,
                    or_(items.c.deleted_at.is_(None), items.c.deleted_at > as_of),
                    tuple_(items.c.platform, items.c.account_id).in_(configured))
             .order_by(items.c.platform, items.c.root_id, items.c.created_at, items.c.item_id))
    hold = held_back(engine, as_of)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [_row_item(r) for r in rows if (r["platform"], r["item_id"]) not in hold]


def validate_scope(settings: Settings, engine: Engine, as_of: datetime,
                   scope: list[Item] | None = None) -> dict[str, Any]:
    """The batch suite over what the checks will read; failing items are held back.

    Returns:
        {"items": n validated, "quarantined": [batch ids], "summary": [one line each]}.
    """
    from checks import quality

    scope = scope_items(settings, engine, as_of) if scope is None else scope
    out: dict[str, Any] = {"items": len(scope), "quarantined": [], "summary": []}
    by_account: dict[tuple[str, str], list[Item]] = {}
    for item in scope:
        by_account.setdefault((item.platform, item.account), []).append(item)
    for (platform, account_id), group in sorted(by_account.items()):
        gate = _Gate(settings, engine, platform, as_of)
        known = gate.known_ids(quality.parents_to_look_up(group))
        result = quality.validate_batch(group, platform=platform, accounts=gate.accounts,
                                        now=as_of, known_ids=known)
        if result.success:
            continue
        bad = {i for failure in result.failed for i in failure["examples"] if i}
        held = [_item_dict(i) for i in group if i.id in bad]
        batch_id = quarantine(engine, run_id="", platform=platform, account_id=account_id,
                              items_json=held, result=result, stage="scope", loaded=True,
                              now=as_of)
        out["quarantined"].append(batch_id)
        out["summary"].append(f"{platform} account {account_id}: {result.summary()}")
    return out


# -- checks, findings, alerts, report ---------------------------------------------------------

def check(settings: Settings, engine: Engine, as_of: datetime, *,
          scope: list[Item] | None = None) -> dict[str, Any]:
    """Run the checks as of ``as_of`` and update the findings' lifecycle.

    Returns:
        Figures: items checked, findings fired, the lifecycle counts.
    """
    from checks import run_checks
    from channelwatch.findings import sync_findings

    scope = scope_items(settings, engine, as_of) if scope is None else scope
    found = run_checks(scope, settings, as_of)
    result = sync_findings(engine, found, now=as_of, scope=scope,
                           tz=settings.business_hours.timezone)
    return {"as_of": as_of.isoformat(), "items": len(scope), "findings": len(found),
            **result.as_dict()}


def alert(settings: Settings, engine: Engine, now: datetime | None = None) -> list[str]:
    """Email every active safeguarding finding not alerted yet (channelwatch.delivery).

    With neither report.safeguarding_recipients nor report.recipients configured, email is
    off: a warning is logged and the report is where the concerns show.

    Returns:
        The ids of the findings alerted.

    Raises:
        UserError: the mail failed (the task fails loudly and is retried).
    """
    if not (settings.report.safeguarding_recipients or settings.report.recipients):
        log.warning("no report recipients configured: safeguarding concerns are not emailed")
        return []
    from channelwatch.delivery import send_safeguarding_alerts

    return list(send_safeguarding_alerts(settings, engine, now=now))


def report(settings: Settings, engine: Engine, report_date: date, *,
           now: datetime | None = None, deliver: bool = False) -> dict[str, Any]:
    """Render the report of ``report_date`` as of ``now``; email it when asked.

    The report is delivered once per day (a retried or re-run task does not send it
    again), and only when report.recipients is configured.

    Returns:
        {"html": path, "csv": path, "json": path, "delivered_to": [addresses]}.
    """
    from channelwatch.report import build_report

    paths = build_report(settings, engine, report_date, now=now)
    sent: list[str] = []
    if deliver and settings.report.recipients:
        from channelwatch.delivery import send_report

        sent = list(send_report(settings, engine, report_date, paths=paths, force=False))
    return {"html": str(paths.html), "csv": str(paths.csv), "json": str(paths.json),
            "delivered_to": sent}


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
    held = (select(findings.c.finding_id)
            .where(findings.c.platform == items.c.platform,
                   findings.c.item_id == items.c.item_id,
                   findings.c.status.in_(ACTIVE))
            .exists())
    out = {"items_redacted": 0, "versions_redacted": 0, "raw_payloads_deleted": 0,
           "findings_deleted": 0, "quarantined_batches_deleted": 0}
    with engine.begin() as conn:
        due = conn.execute(select(items.c.platform, items.c.item_id).where(
            items.c.is_own.is_(False), items.c.created_at < comment_cutoff,
            items.c.redacted_at.is_(None), ~held)).all()
        keys = [(p, i) for p, i in due]
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start:start + CHUNK]
            out["items_redacted"] += conn.execute(
                update(items).where(tuple_(items.c.platform, items.c.item_id).in_(chunk))
                .values(text="", author_id="", author_name="", redacted_at=now)).rowcount
            out["versions_redacted"] += conn.execute(
                update(item_versions)
                .where(tuple_(item_versions.c.platform, item_versions.c.item_id).in_(chunk))
                .values(text="")).rowcount
        out["raw_payloads_deleted"] = conn.execute(
            delete(raw_payloads).where(raw_payloads.c.received_at < raw_cutoff)).rowcount
        old = select(findings.c.finding_id).where(
            findings.c.status.in_(("resolved", "dismissed")),
            findings.c.status_changed_at < finding_cutoff)
        conn.execute(delete(finding_events).where(finding_events.c.finding_id.in_(old)))
        out["findings_deleted"] = conn.execute(
            delete(findings).where(findings.c.finding_id.in_(
                select(old.subquery().c.finding_id)))).rowcount
        out["quarantined_batches_deleted"] = conn.execute(
            delete(quarantined_batches).where(
                quarantined_batches.c.quarantined_at < comment_cutoff)).rowcount
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

        first = {(p, a): at for p, a, at in conn.execute(select(
            accounts_table.c.platform, accounts_table.c.account_id,
            accounts_table.c.first_configured_at))}
        last = {(p, a): at for p, a, at in conn.execute(
            select(run.platform, run.account_id, func.max(run.finished_at))
            .where(run.status == "success", run.finished_at <= now)
            .group_by(run.platform, run.account_id))}
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
        what = (f"last successful ingestion {since.isoformat(timespec='minutes')}"
                if since else "never ingested successfully")
        gaps.append(f"{platform}:{account.id}")
        found.append({
            "platform": platform, "item_id": gap_item_id(account.id), "rule": GAP_RULE,
            "category": "pipeline", "severity": "high", "route": "comms",
            "evidence": f"{account.name} ({platform} {account.id}): {what}; {hours:.0f} h "
                        f"without data, more than the {settings.monitoring.gap_hours:g} h allowed",
            "due_at": None, "detected_at": now,
        })
    result = sync_findings(engine, found, now=now, scope=scope,
                           tz=settings.business_hours.timezone)
    return {"gaps": gaps, **result.as_dict()}


# -- a whole day without Airflow, and the deadline callback -----------------------------------

def as_of_for_day(settings: Settings, day: date, now: datetime | None = None) -> datetime:
    """The instant a day's pass is checked as of: the end of that council-local day, or
    now for today."""
    now = now or _utcnow()
    zone = settings.business_hours.zone
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return min(now, end - timedelta(microseconds=1))


def run_day(settings: Settings, engine: Engine, day: date, *, now: datetime | None = None,
            progress: Callable[[str], None] | None = None, deliver: bool = False,
            ingest_accounts: bool = True) -> dict[str, Any]:
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
            say(f"ingesting {platform} account {account.id} ({account.name})"
                + (f" up to {end_of_day.isoformat(timespec='seconds')}" if backfill else ""))
            try:
                figures = ingest(settings, engine, platform, account.id,
                                 now=end_of_day if backfill else now,
                                 until=end_of_day if backfill else None, clock=clock)
            except PipelineError as exc:
                say(f"  failed: {exc}")
                out["failed"].append(str(exc))
                continue
            say(f"  {figures['items_seen']} items seen, {figures['items_new']} new, "
                f"{figures['items_changed']} changed, {figures['items_deleted']} deleted, "
                f"{figures['api_calls']} API calls")
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


def record_report_late(settings: Settings, engine: Engine, dag_run: Mapping[str, Any],
                       deadline: Mapping[str, Any], now: datetime | None = None) -> str:
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
    message = (f"the daily report of {day} (run {run_id}) was not ready by its deadline "
               f"{deadline.get('deadline_time') or ''}")
    log.error("channelwatch: %s", message)
    sync_findings(engine, [{
        "platform": "pipeline", "item_id": f"report:{day}", "rule": "pipeline.report_late",
        "category": "pipeline", "severity": "high", "route": "comms", "evidence": message,
        "due_at": None, "detected_at": now}], now=now, tz=settings.business_hours.timezone)
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
