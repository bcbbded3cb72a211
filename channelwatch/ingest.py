"""The ingestion step: one pass of one account's connector into the warehouse.

Each batch is committed in its own transaction as it arrives (pages are streamed, never
held whole); watermarks and deletions are written only after the last batch is
committed, so a pass killed midway leaves the watermark where the committed data is.

The connector runs in a thread of its own, at most `PREFETCH` batches ahead of the loader
(`prefetched`): while one batch is committed the next page is already on its way, so the
platform's latency and the warehouse's work overlap instead of adding up. A connector
may set `prefetch = False` to be read in step with the loader.

A `Validator` (the pipeline's quality gate) sees each batch in the loader's thread before
it is loaded, every earlier batch committed, and the whole pass before any watermark
moves; what it rejects (`Rejected`) ends the pass as "quarantined" and travels in the
outcome, never as a side channel.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from typing import Any, Protocol, TypeVar

from sqlalchemy import Engine

import connectors
from channelwatch.privacy import pseudonymiser
from channelwatch.secrets import Credentials, get_credentials
from channelwatch.warehouse import load
from connectors.base import Batch, Connector, FetchResult, FetchState
from connectors.errors import ConnectorError
from kernel.config import Settings

log = logging.getLogger(__name__)

PREFETCH = 2  # batches the connector may run ahead of the loader (0: read in step)
T = TypeVar("T")


@dataclasses.dataclass(slots=True)
class IngestOutcome:
    """What one account's pass did."""

    platform: str
    account_id: str
    run_id: str
    status: str  # success | failed | quarantined
    stats: load.LoadStats
    api_calls: int = 0
    quota_units: int = 0
    error: str | None = None
    error_type: type[BaseException] | None = None  # what failed the pass
    warning: str | None = None  # a pass that succeeded but looks wrong (one line)
    rejection: Rejected | None = None  # status "quarantined": what the validator refused

    def as_dict(self) -> dict:
        out = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        out["stats"] = dataclasses.asdict(self.stats)
        out["error_type"] = self.error_type.__name__ if self.error_type else None
        out["rejection"] = str(self.rejection) if self.rejection else None
        return out


ConnectorFactory = Callable[[str, object, Credentials, object], Connector]


class Rejected(Exception):
    """A validator refused what the pass returned (channelwatch.pipeline.gate).

    Attributes:
        stage: "batch" (refused before loading: not loaded) or "pass" (loaded, then found
            wanting once every batch was committed: to be held back).
        items: the refused items as JSON, for quarantined_batches.
        result: the validation result (checks.quality.QualityResult).
    """

    def __init__(self, stage: str, items: list[dict], result: Any) -> None:
        super().__init__(f"quality gate: {result.summary()}")
        self.stage = stage
        self.items = items
        self.result = result


class Validator(Protocol):
    """Checks what a pass returns: each batch before it is loaded, and the whole pass once
    every batch is committed and before any watermark moves. Raises `Rejected`."""

    def batch(self, batch: Batch) -> None: ...

    def finish(self) -> None: ...


def ingest_account(
    settings: Settings,
    engine: Engine,
    platform: str,
    account_id: str,
    *,
    now: datetime | None = None,
    until: datetime | None = None,
    clock: datetime | None = None,
    interval: tuple[datetime, datetime] | None = None,
    credentials: Credentials | None = None,
    factory: ConnectorFactory = connectors.build,
    progress: Callable[[load.LoadStats], None] | None = None,
    pseudonymise: Callable[[str, str], str] | None = None,
    validator: Validator | None = None,
) -> IngestOutcome:
    """Run one incremental pass for one configured account.

    Args:
        now: the pass's as-of time, recorded on everything it writes (default: the
            machine's clock, for a live pass).
        until: None for a live pass. For a backfill, the end of the window (usually equal
            to ``now``): the connector asks for nothing created later, what it returns
            created later is dropped, and — the window being in the past — the pass moves
            no watermark and marks nothing deleted (absence from an old window is no
            evidence of a deletion, and a watermark must never move backwards).
        clock: the machine's clock, for what the platforms decide by theirs (default: read
            it when needed).
        validator: checks each batch before it is loaded and the pass before its
            watermarks move; what it rejects ends the pass as "quarantined", the outcome
            carrying the `Rejected`.

    Raises nothing for a platform failure: a failed pass is recorded in ingestion_runs and
    returned with status "failed" and a one-line error, so other accounts go on.
    """
    now = now or datetime.now(timezone.utc)
    account = settings.account(platform, account_id)
    backfill = until is not None
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, now)
        run_id = load.start_run(conn, platform, account_id, interval, now, backfill=backfill)
        marks = load.get_watermarks(conn, platform, account_id)
    stats = load.LoadStats()
    connector = None
    rejection: Rejected | None = None
    window_start = (until or now) - timedelta(days=settings.api.lookback_days)
    try:
        creds = credentials or get_credentials(account.conn_id, platform)
        author_ref = pseudonymise or pseudonymiser(settings)
        connector = factory(platform, account, creds, settings.api)
        state = FetchState(
            watermarks=marks, lookback_since=window_start, now=now, until=until, clock=clock
        )
        seen = SeenIds()
        with fetching(connector, state) as batches:
            for batch in batches:
                if validator is not None:
                    validator.batch(batch)
                with engine.begin() as conn:
                    stats.add(
                        load.load_batch(conn, run_id, platform, account_id, batch, now, author_ref)
                    )
                seen.update(item.id for item in batch.items)
                if progress:
                    progress(stats)
        result = connector.result()
        if validator is not None:
            validator.finish()
        with engine.begin() as conn:
            if not backfill:
                stats.deleted = load.mark_deleted(
                    conn, platform, account_id, result.complete_scopes, seen, now
                )
                load.set_watermarks(conn, platform, account_id, result.watermarks, run_id, now)
            load.finish_run(conn, run_id, "success", stats, result, now=now)
        status, error, error_type = "success", None, None
    except Rejected as exc:
        error, error_type, rejection = str(exc), Rejected, exc
        result = _partial_result(connector)
        with engine.begin() as conn:
            load.finish_run(conn, run_id, "quarantined", stats, result, error=error, now=now)
        status = "quarantined"
        log.error("%s account %s: %s", platform, account_id, error)
    except (ConnectorError, Exception) as exc:  # noqa: BLE001 - recorded, then reported
        error = _one_line(exc)
        error_type = type(exc)
        result = _partial_result(connector)
        with engine.begin() as conn:
            load.finish_run(conn, run_id, "failed", stats, result, error=error, now=now)
        status = "failed"
        log.error("%s account %s failed: %s", platform, account_id, error)
        if not isinstance(exc, (ConnectorError, connectors.ConnectorError)) and not _is_user_error(
            exc
        ):
            log.exception("unexpected error")
    outcome = IngestOutcome(
        platform,
        account_id,
        run_id,
        status,
        stats,
        sum(result.api_calls.values()) if result else 0,
        sum(result.quota_units.values()) if result else 0,
        error,
        error_type,
        rejection=rejection,
    )
    if status == "success" and stats.seen == 0:
        outcome.warning = _empty_window_warning(
            engine, platform, account_id, marks, window_start, until or now
        )
        if outcome.warning:
            log.warning("%s", outcome.warning)
    return outcome


def _empty_window_warning(
    engine: Engine,
    platform: str,
    account_id: str,
    marks: dict[str, str],
    start: datetime,
    end: datetime,
) -> str | None:
    """A warning when a pass returned nothing although the account was active before.

    An account whose watermarks show earlier passes found something (or whose stored items
    fall in the window) and that now returns no item at all over a whole look-back window
    is more likely misconfigured (a wrong window, a token that sees nothing) than quiet.
    """
    from sqlalchemy import func, select

    from channelwatch.warehouse.schema import items

    with engine.connect() as conn:
        stored = conn.execute(
            select(func.count())
            .select_from(items)
            .where(
                items.c.platform == platform,
                items.c.account_id == account_id,
                items.c.created_at > start,
                items.c.created_at <= end,
            )
        ).scalar_one()
    if not stored and not marks:
        return None
    window = f"{start.isoformat(timespec='minutes')} to {end.isoformat(timespec='minutes')}"
    if stored:
        why = f"the warehouse holds {stored} items of that window"
    else:
        why = (
            "its watermarks show earlier activity ("
            + ", ".join(f"{k}={v}" for k, v in sorted(marks.items()))
            + ")"
        )
    return (
        f"warning: {platform} account {account_id}: the platform returned no items for "
        f"{window}, but {why}"
    )


class SeenIds:
    """The ids of the items a pass returned, for deletion detection, in a third of the
    memory of the strings: each is kept as its 64-bit `hash()` (SipHash, salted per
    process). Two ids of a pass colliding (about 1 in 10^9 for 250,000 items) would only
    leave a deleted item unmarked until a later pass, whose process has another salt.
    """

    __slots__ = ("_hashes",)

    def __init__(self) -> None:
        self._hashes: set[int] = set()

    def update(self, ids: Iterable[str]) -> None:
        self._hashes.update(map(hash, ids))

    def __contains__(self, item_id: object) -> bool:
        return hash(item_id) in self._hashes

    def __len__(self) -> int:
        return len(self._hashes)


@contextlib.contextmanager
def fetching(connector: Connector, state: FetchState) -> Iterator[Iterator[Batch]]:
    """`connector.fetch(state)`, prefetched unless the connector sets `prefetch = False`;
    closed on leaving (the connector's thread stopped, its HTTP session closed), whether the
    pass ended or the loader failed. For a backfill (``state.until``), items created after
    the window are dropped here: not every API can be asked to leave them out."""
    batches = connector.fetch(state)
    if state.until is not None:
        batches = _until(batches, state.until)
    if PREFETCH > 0 and getattr(connector, "prefetch", True):
        batches = prefetched(batches, PREFETCH)
    try:
        yield batches
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


def _until(batches: Iterator[Batch], until: datetime) -> Iterator[Batch]:
    try:
        for batch in batches:
            yield Batch([i for i in batch.items if i.created_at <= until], batch.pages)
    finally:
        close = getattr(batches, "close", None)
        if close is not None:
            close()


_END = object()


class _Raised:
    __slots__ = ("exc",)

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


def prefetched(source: Iterable[T], depth: int = PREFETCH) -> Iterator[T]:
    """The items of `source`, produced in a thread of their own at most `depth` ahead.

    What the source raises is raised here, after the items it produced before. When the
    consumer stops early (an exception while loading, or close()), the source is closed in
    its own thread (a connector's `finally` closes its HTTP session) before this returns.
    """
    slots: queue.Queue = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        iterator = iter(source)
        try:
            for value in iterator:
                slots.put(value)
                if stop.is_set():
                    return
            slots.put(_END)
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            slots.put(_Raised(exc))
        finally:
            close = getattr(iterator, "close", None)
            if close is not None:
                close()

    worker = threading.Thread(target=produce, name="connector-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            value = slots.get()
            if value is _END:
                return
            if isinstance(value, _Raised):
                raise value.exc
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a put() so the producer sees `stop`
            try:
                slots.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()


def _partial_result(connector: Connector | None) -> FetchResult | None:
    if connector is None:
        return None
    try:
        return connector.result()
    except Exception:  # noqa: BLE001 - counts are best effort after a failure
        return None


def _is_user_error(exc: BaseException) -> bool:
    from kernel.errors import UserError

    return isinstance(exc, UserError)


def _one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())[:1000]
