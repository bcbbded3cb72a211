"""The ingestion step: one pass of one account's connector into the warehouse.

Each batch is committed in its own transaction as it arrives (pages are streamed, never
held whole); watermarks and deletions are written only after the last batch is
committed, so a pass killed midway leaves the watermark where the committed data is.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from sqlalchemy import Engine

import connectors
from channelwatch.config import Settings
from channelwatch.privacy import pseudonymiser
from channelwatch.secrets import Credentials, get_credentials
from channelwatch.warehouse import load
from connectors.base import Connector, FetchResult, FetchState
from connectors.errors import ConnectorError

log = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class IngestOutcome:
    """What one account's pass did."""

    platform: str
    account_id: str
    run_id: str
    status: str  # success | failed
    stats: load.LoadStats
    api_calls: int = 0
    quota_units: int = 0
    error: str | None = None

    def as_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["stats"] = dataclasses.asdict(self.stats)
        return out


ConnectorFactory = Callable[[str, object, Credentials, object], Connector]


def ingest_account(
    settings: Settings,
    engine: Engine,
    platform: str,
    account_id: str,
    *,
    now: datetime | None = None,
    interval: tuple[datetime, datetime] | None = None,
    credentials: Credentials | None = None,
    factory: ConnectorFactory = connectors.build,
    progress: Callable[[load.LoadStats], None] | None = None,
    pseudonymise: Callable[[str, str], str] | None = None,
) -> IngestOutcome:
    """Run one incremental pass for one configured account.

    Raises nothing for a platform failure: a failed pass is recorded in ingestion_runs and
    returned with status "failed" and a one-line error, so other accounts go on.
    """
    now = now or datetime.now(timezone.utc)
    account = settings.account(platform, account_id)
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, now)
        run_id = load.start_run(conn, platform, account_id, interval, now)
        marks = load.get_watermarks(conn, platform, account_id)
    stats = load.LoadStats()
    connector = None
    try:
        creds = credentials or get_credentials(account.conn_id, platform)
        author_ref = pseudonymise or pseudonymiser(settings)
        connector = factory(platform, account, creds, settings.api)
        state = FetchState(watermarks=marks,
                           lookback_since=now - timedelta(days=settings.api.lookback_days),
                           now=now)
        seen: set[str] = set()
        for batch in connector.fetch(state):
            with engine.begin() as conn:
                stats.add(load.load_batch(conn, run_id, platform, account_id, batch, now,
                                          author_ref))
            seen.update(item.id for item in batch.items)
            if progress:
                progress(stats)
        result = connector.result()
        with engine.begin() as conn:
            stats.deleted = load.mark_deleted(conn, platform, account_id,
                                              result.complete_scopes, seen, now)
            load.set_watermarks(conn, platform, account_id, result.watermarks, run_id, now)
            load.finish_run(conn, run_id, "success", stats, result, now=datetime.now(timezone.utc))
        status, error = "success", None
    except (ConnectorError, Exception) as exc:  # noqa: BLE001 - recorded, then reported
        error = _one_line(exc)
        result = _partial_result(connector)
        with engine.begin() as conn:
            load.finish_run(conn, run_id, "failed", stats, result, error=error,
                            now=datetime.now(timezone.utc))
        status = "failed"
        log.error("%s account %s failed: %s", platform, account_id, error)
        if not isinstance(exc, (ConnectorError, connectors.ConnectorError)) and not _is_user_error(exc):
            log.exception("unexpected error")
    return IngestOutcome(platform, account_id, run_id, status, stats,
                         sum(result.api_calls.values()) if result else 0,
                         sum(result.quota_units.values()) if result else 0, error)


def _partial_result(connector: Connector | None) -> FetchResult | None:
    if connector is None:
        return None
    try:
        return connector.result()
    except Exception:  # noqa: BLE001 - counts are best effort after a failure
        return None


def _is_user_error(exc: BaseException) -> bool:
    from channelwatch.errors import UserError

    return isinstance(exc, UserError)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:1000]
