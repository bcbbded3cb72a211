"""Ingestion through the data-quality gate, and the quarantine of what fails it.

Every batch is validated by Great Expectations (checks.quality) before it is loaded, and
the API's reported totals are checked once the pass's batches are committed. A failing
batch is not loaded: it is stored in ``quarantined_batches`` with its validation result,
the run is marked ``quarantined``, and `BatchQuarantined` is raised.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, func, insert, or_, select, update

from channelwatch.ingest import IngestOutcome, Rejected, ingest_account
from channelwatch.pipeline.errors import BatchQuarantined, IngestionFailed
from channelwatch.warehouse import load
from channelwatch.warehouse.load import utcnow as _utcnow
from channelwatch.warehouse.locks import account_lock
from channelwatch.warehouse.schema import (
    ingestion_runs,
    items,
    quarantined_batches,
)
from connectors.base import Batch
from kernel.config import Settings
from kernel.items import FIELDS, Item

log = logging.getLogger(__name__)


CHUNK = 500


# -- ingestion through the quality gate -------------------------------------------------------


class Gate:
    """The quality gate of one pass, as `ingest_account`'s validator: each batch is
    validated before it is loaded, and once every batch is committed (before any watermark
    moves) the replies whose parents were not found yet and the API's reported totals are
    checked. What fails is raised as `Rejected`; `ingest` quarantines it.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        platform: str,
        now: datetime,
        backfill: bool = False,
    ) -> None:
        self.settings = settings
        self.engine = engine
        self.platform = platform
        self.now = now
        self.backfill = backfill
        self.accounts = [a.id for a in getattr(settings.accounts, platform)]
        self._totals: dict[str, Any] = {}
        self._seen: set[str] = set()
        self._orphans: list[Item] = []

    def batch(self, batch: Batch) -> None:
        """Validate a batch before it is loaded (every earlier batch is committed)."""
        from checks import quality

        parents = quality.parents_to_look_up(batch.items)
        known = self.known_ids(parents - self._seen) | (parents & self._seen)
        # A parent neither here nor stored may still come later in the pass: those
        # replies are checked again once every batch is committed (finish).
        later = parents - known
        result = quality.validate_batch(
            batch.items,
            platform=self.platform,
            accounts=self.accounts,
            now=self.now,
            known_ids=known | later,
        )
        if not result.success:
            raise Rejected("batch", [item_json(i) for i in batch.items], result)
        self._orphans.extend(
            i
            for i in batch.items
            if i.parent_id not in (None, "")
            and (str(i.parent_id) in later or str(i.root_id) in later)
        )
        self._seen.update(str(i.id) for i in batch.items)
        # A backfill stores a past window: the API's totals count what came later.
        if not self.backfill:
            for total in quality.reported_totals(batch.items, batch.pages):
                self._totals[total.item_id] = total

    def finish(self) -> None:
        """Check the pass once every batch is committed; watermarks are not yet written,
        so a failure here leaves them behind."""
        from checks import quality

        orphans, totals = self._orphans, self._totals
        if not (orphans or totals):
            return
        refs = {str(r) for i in orphans for r in (i.parent_id, i.root_id) if r}
        known = self.known_ids(refs)
        result = quality.validate_pass(orphans, known, self.counted(totals.values()))
        if result.success:
            return
        bad = {
            f
            for failure in result.failed
            if "parent_known" in failure["columns"]
            for f in failure["examples"]
            if f
        }
        threads = {
            t for f in result.failed if "counted" in f["columns"] for t in f["examples"] if t
        }
        held = self.thread_items(threads) if threads else []
        held_ids = {h["id"] for h in held}
        held += [item_json(i) for i in orphans if str(i.id) in bad - held_ids]
        raise Rejected("pass", held, result)

    def known_ids(self, ids: set[str]) -> set[str]:
        found: set[str] = set()
        ids_list = sorted(ids)
        with self.engine.connect() as conn:
            for start in range(0, len(ids_list), CHUNK):
                chunk = ids_list[start : start + CHUNK]
                found.update(
                    conn.execute(
                        select(items.c.item_id).where(
                            items.c.platform == self.platform, items.c.item_id.in_(chunk)
                        )
                    ).scalars()
                )
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
                    chunk = ids[start : start + CHUNK]
                    for key, n in conn.execute(
                        select(column, func.count())
                        .where(
                            items.c.platform == self.platform,
                            column.in_(chunk),
                            items.c.item_id != column,
                            items.c.deleted_at.is_(None),
                        )
                        .group_by(column)
                    ):
                        counts[key] = int(n)
                out.extend((t, counts.get(t.item_id, 0)) for t in wanted)
        return out

    def thread_items(self, ids: Iterable[str]) -> list[dict[str, Any]]:
        ids = sorted(set(ids))
        rows = []
        with self.engine.connect() as conn:
            for start in range(0, len(ids), CHUNK):
                chunk = ids[start : start + CHUNK]
                rows.extend(
                    conn.execute(
                        select(items).where(
                            items.c.platform == self.platform,
                            or_(
                                items.c.item_id.in_(chunk),
                                items.c.root_id.in_(chunk),
                                items.c.parent_id.in_(chunk),
                            ),
                        )
                    )
                    .mappings()
                    .all()
                )
        return [item_json(row_item(row)) for row in rows]


def item_json(item: Any) -> dict[str, Any]:
    """An item as JSON for quarantined_batches, whatever is wrong with it."""
    if isinstance(item, Mapping):
        return json.loads(json.dumps(dict(item), default=str))
    out = {}
    for name in FIELDS:
        value = getattr(item, name, None)
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, Mapping):
            value = dict(value)
        out[name] = value
    return json.loads(json.dumps(out, default=str))


def row_item(row: Mapping[str, Any]) -> Item:
    return Item(
        platform=row["platform"],
        id=row["item_id"],
        kind=row["kind"],
        account=row["account_id"],
        author_id=row["author_id"],
        author_name=row["author_name"],
        is_own=bool(row["is_own"]),
        parent_id=row["parent_id"],
        root_id=row["root_id"],
        created_at=row["created_at"],
        text=row["text"],
        url=row["url"],
        flags=dict(row["flags"] or {}),
    )


def quarantine(
    engine: Engine,
    *,
    run_id: str,
    platform: str,
    account_id: str,
    items_json: list[dict[str, Any]],
    result: Any,
    stage: str,
    loaded: bool,
    now: datetime,
) -> int:
    """Store a batch that failed validation; returns its batch_id."""
    validation = dict(result.result)
    validation["channelwatch"] = {
        "stage": stage,
        "loaded": loaded,
        "suite": result.suite,
        "summary": result.summary(),
    }
    with engine.begin() as conn:
        batch_id = conn.execute(
            insert(quarantined_batches)
            .values(
                run_id=run_id,
                platform=platform,
                account_id=account_id,
                quarantined_at=now,
                item_count=len(items_json),
                failed_expectations=result.failed,
                validation_result=validation,
                items=items_json,
            )
            .returning(quarantined_batches.c.batch_id)
        ).scalar_one()
        if run_id:
            conn.execute(
                update(ingestion_runs)
                .where(ingestion_runs.c.run_id == run_id)
                .values(status="quarantined")
            )
    return int(batch_id)


def ingest(
    settings: Settings,
    engine: Engine,
    platform: str,
    account_id: str,
    *,
    interval: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
    until: datetime | None = None,
    clock: datetime | None = None,
    factory: Callable | None = None,
    credentials=None,
) -> dict[str, Any]:
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
    gate = Gate(settings, engine, platform, now, backfill=until is not None)
    # One pass of an account at a time, whoever started it (channelwatch.warehouse.locks):
    # a run of the account still "running" now is one whose process died.
    with account_lock(engine, platform, account_id):
        with engine.begin() as conn:
            load.abandon_unfinished(conn, platform, account_id)
        outcome: IngestOutcome = ingest_account(
            settings,
            engine,
            platform,
            account_id,
            now=now,
            until=until,
            clock=clock,
            interval=interval,
            credentials=credentials,
            factory=factory or connectors.build,
            validator=gate,
        )
    figures = {
        "platform": platform,
        "account_id": account_id,
        "run_id": outcome.run_id,
        "status": outcome.status,
        "items_seen": outcome.stats.seen,
        "items_new": outcome.stats.new,
        "items_changed": outcome.stats.changed,
        "items_deleted": outcome.stats.deleted,
        "api_calls": outcome.api_calls,
        "quota_units": outcome.quota_units,
        "warning": outcome.warning,
    }
    if outcome.rejection is not None:
        rejection = outcome.rejection
        batch_id = quarantine(
            engine,
            run_id=outcome.run_id,
            platform=platform,
            account_id=account_id,
            items_json=rejection.items,
            result=rejection.result,
            stage=rejection.stage,
            loaded=rejection.stage == "pass",
            now=now,
        )
        raise BatchQuarantined(
            f"{platform} account {account_id}: batch quarantined (quarantined_batches."
            f"batch_id={batch_id}, run {outcome.run_id}): {rejection.result.summary()}",
            batch_id,
        )
    if outcome.status != "success":
        raise IngestionFailed(
            f"{platform} account {account_id}: {outcome.error}", outcome.error_type
        )
    return figures
