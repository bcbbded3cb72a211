"""Loading connector output into the warehouse.

Idempotent by construction: items are keyed on (platform, platform id); an item whose text
and flags are unchanged is not written at all; a changed one gets a new row in
item_versions; raw pages are append-only and deduplicated on their digest. Watermarks are
written by the caller only after the batches they cover are committed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import uuid
from collections.abc import Callable, Container, Iterable, Mapping, Sequence
from datetime import datetime, timezone

from psycopg.types.json import set_json_dumps
from sqlalchemy import Connection, and_, func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from channelwatch.warehouse.schema import (
    accounts,
    ingestion_run_endpoints,
    ingestion_runs,
    items,
    raw_payloads,
    watermarks,
)
from connectors.base import Batch, FetchResult, RawPage, Scope
from kernel.config import Settings
from kernel.items import Item, storable

CHUNK = 500
log = logging.getLogger(__name__)


@dataclasses.dataclass(slots=True)
class LoadStats:
    """Counts of one load: what was new, changed, unchanged and deleted."""

    seen: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    deleted: int = 0
    pages: int = 0

    def add(self, other: LoadStats) -> None:
        for field in dataclasses.fields(self):
            setattr(self, field.name, getattr(self, field.name) + getattr(other, field.name))


def utcnow() -> datetime:
    """The machine's clock: for the wall_* columns, and the default of callers that give
    no as-of time (a pass always gives its own)."""
    return datetime.now(timezone.utc)


def _insert(conn: Connection, table):
    """A dialect insert that supports ON CONFLICT."""
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


def sync_accounts(conn: Connection, settings: Settings, now: datetime | None = None) -> None:
    """Insert or update the configured accounts (never deletes: old items keep their owner)."""
    now = now or utcnow()
    for platform, account in settings.accounts.all():
        stmt = _insert(conn, accounts).values(
            platform=platform,
            account_id=account.id,
            handle=account.handle,
            display_name=account.name,
            conn_id=account.conn_id,
            first_configured_at=now,
            updated_at=now,
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["platform", "account_id"],
                set_={
                    "handle": account.handle,
                    "display_name": account.name,
                    "conn_id": account.conn_id,
                    "updated_at": now,
                },
                where=(accounts.c.handle != account.handle)
                | (accounts.c.display_name != account.name)
                | (accounts.c.conn_id != account.conn_id),
            )
        )


def get_watermarks(conn: Connection, platform: str, account_id: str) -> dict[str, str]:
    rows = conn.execute(
        select(watermarks.c.endpoint, watermarks.c.value).where(
            watermarks.c.platform == platform, watermarks.c.account_id == account_id
        )
    )
    return {endpoint: value for endpoint, value in rows}


def set_watermarks(
    conn: Connection,
    platform: str,
    account_id: str,
    values: Mapping[str, str],
    run_id: str,
    now: datetime | None = None,
) -> None:
    """Write watermarks; call in the same transaction as, or after, the data they cover."""
    now = now or utcnow()
    for endpoint, value in values.items():
        stmt = _insert(conn, watermarks).values(
            platform=platform,
            account_id=account_id,
            endpoint=endpoint,
            value=str(value),
            run_id=run_id,
            updated_at=now,
        )
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["platform", "account_id", "endpoint"],
                set_={"value": str(value), "run_id": run_id, "updated_at": now},
                where=watermarks.c.value != str(value),
            )
        )


def start_run(
    conn: Connection,
    platform: str,
    account_id: str,
    interval: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
    *,
    backfill: bool = False,
) -> str:
    """Record the start of an ingestion run and return its id.

    ``now`` is the pass's as-of time (started_at); wall_started_at is the machine's clock.
    """
    run_id = f"{platform}-{account_id}-{uuid.uuid4().hex[:12]}"
    conn.execute(
        insert(ingestion_runs).values(
            run_id=run_id,
            platform=platform,
            account_id=account_id,
            data_interval_start=interval[0] if interval else None,
            data_interval_end=interval[1] if interval else None,
            started_at=now or utcnow(),
            wall_started_at=utcnow(),
            backfill=backfill,
            status="running",
        )
    )
    return run_id


ABANDONED = (
    "the pass never finished: its process was killed or lost before it recorded an "
    "outcome; what it committed is kept and its watermarks were not moved"
)


def abandon_unfinished(conn: Connection, platform: str, account_id: str) -> int:
    """Mark the account's runs still "running" as "abandoned"; returns how many.

    Call holding the account's ingestion lock (channelwatch.warehouse.locks), so that none
    of them is alive. SQLite has no such lock: a pass running beside this one is marked
    too, and sets its own status when it ends.
    """
    result = conn.execute(
        update(ingestion_runs)
        .where(
            ingestion_runs.c.platform == platform,
            ingestion_runs.c.account_id == account_id,
            ingestion_runs.c.status == "running",
        )
        .values(status="abandoned", error=ABANDONED)
    )
    return max(result.rowcount, 0)


def finish_run(
    conn: Connection,
    run_id: str,
    status: str,
    stats: LoadStats,
    result: FetchResult | None = None,
    error: str | None = None,
    now: datetime | None = None,
) -> None:
    """Close an ingestion run with its counts, per-endpoint API calls and error, if any.

    ``now`` is the pass's as-of time (finished_at); wall_finished_at is the machine's clock.
    """
    calls = dict(result.api_calls) if result else {}
    units = dict(result.quota_units) if result else {}
    conn.execute(
        update(ingestion_runs)
        .where(ingestion_runs.c.run_id == run_id)
        .values(
            finished_at=now or utcnow(),
            wall_finished_at=utcnow(),
            status=status,
            error=error,
            api_calls=sum(calls.values()),
            quota_units=sum(units.values()),
            items_seen=stats.seen,
            items_new=stats.new,
            items_changed=stats.changed,
            items_deleted=stats.deleted,
        )
    )
    endpoints = sorted(set(calls) | set(units))
    if endpoints:
        conn.execute(
            insert(ingestion_run_endpoints),
            [
                {
                    "run_id": run_id,
                    "endpoint": e,
                    "api_calls": calls.get(e, 0),
                    "quota_units": units.get(e, 0),
                    "items": 0,
                }
                for e in endpoints
            ],
        )


ITEM_COLUMNS = (
    "platform",
    "item_id",
    "kind",
    "account_id",
    "author_id",
    "author_name",
    "author_ref",
    "is_own",
    "parent_id",
    "root_id",
    "created_at",
    "text",
    "url",
    "flags",
    "content_hash",
    "version",
    "first_seen_at",
    "last_seen_at",
)


# json.dumps(flags, ensure_ascii=False, default=str) without an encoder built per call.
_FLAGS_JSON = json.JSONEncoder(ensure_ascii=False, default=str).encode


def copy_row(item: Item, digest: str, now: datetime, author_ref: str) -> tuple:
    """An items row in ITEM_COLUMNS order, as PostgreSQL COPY takes it."""
    return (
        item.platform,
        item.id,
        item.kind,
        item.account,
        item.author_id,
        item.author_name,
        author_ref,
        item.is_own,
        item.parent_id,
        item.root_id,
        item.created_at,
        item.text,
        item.url,
        _FLAGS_JSON(dict(item.flags)),
        digest,
        1,
        now,
        now,
    )


def _item_row(item: Item, digest: str, now: datetime, author_ref: str) -> dict:
    row = dict(zip(ITEM_COLUMNS, copy_row(item, digest, now, author_ref)))
    row["flags"] = dict(item.flags)
    return row


def _unkeyed(platform: str, author_id: str) -> str:
    # Only for loads without a configured key (unit tests, `channelwatch check` round
    # trips): a plain digest. The pipeline always passes the keyed pseudonymiser.
    if not author_id:
        return ""
    return (
        "u-"
        + hashlib.sha256(f"{platform}:{author_id}".encode("utf-8", "surrogatepass")).hexdigest()[
            :30
        ]
    )


def store_pages(
    conn: Connection, run_id: str, platform: str, account_id: str, pages: Sequence[RawPage]
) -> int:
    """Append raw pages, skipping any whose exact body is already stored."""
    if not pages:
        return 0
    rows = [
        {
            "run_id": run_id,
            "platform": platform,
            "account_id": account_id,
            "endpoint": page.endpoint,
            "request": page.request,
            "received_at": page.received_at,
            "body": page.body,
            "sha256": hashlib.sha256(page.body.encode("utf-8", "surrogatepass")).hexdigest(),
        }
        for page in pages
    ]
    stmt = _insert(conn, raw_payloads).on_conflict_do_nothing(
        index_elements=["platform", "account_id", "endpoint", "sha256"]
    )
    result = conn.execute(stmt, rows)
    return max(result.rowcount, 0)


def load_items(
    conn: Connection,
    run_id: str,
    batch_items: Sequence[Item],
    now: datetime | None = None,
    pseudonymise: Callable[[str, str], str] | None = None,
) -> LoadStats:
    """Upsert canonical items: insert new ones, version changed ones, skip unchanged ones.

    A batch may hold the same item twice (a page re-read after a retry): the last wins.
    `pseudonymise(platform, author_id)` gives the author_ref the analyst views show.
    """
    pseudonymise = pseudonymise or _unkeyed
    now = now or utcnow()
    stats = LoadStats()
    latest: dict[tuple[str, str], Item] = {}
    replaced = 0
    for item in batch_items:
        kept = storable(item)  # NUL, lone surrogates: U+FFFD (the raw page keeps them)
        replaced += kept is not item
        latest[item.key] = kept
    if replaced:
        log.info("%d items held NUL or lone surrogates, stored as U+FFFD", replaced)
    stats.seen = len(latest)
    if conn.dialect.name == "postgresql" and latest:
        return _load_items_postgresql(conn, run_id, list(latest.values()), now, pseudonymise, stats)
    keys = list(latest)
    bind = _sqlite_binds(conn.dialect)
    stamp = bind.time(now)
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        existing = _existing_sqlite(conn, chunk)
        new_rows, new_versions = [], []
        for key in chunk:
            item = latest[key]
            digest = item.content_hash()
            row = existing.get(key)
            if row is None:
                flags = bind.flags(dict(item.flags))
                new_rows.append(
                    (
                        item.platform,
                        item.id,
                        item.kind,
                        item.account,
                        item.author_id,
                        item.author_name,
                        pseudonymise(item.platform, item.author_id),
                        bind.boolean(item.is_own),
                        item.parent_id,
                        item.root_id,
                        bind.time(item.created_at),
                        item.text,
                        item.url,
                        flags,
                        digest,
                        1,
                        stamp,
                        stamp,
                    )
                )
                new_versions.append(
                    (item.platform, item.id, 1, item.text, flags, digest, stamp, run_id)
                )
                stats.new += 1
            elif row.content_hash != digest or row.deleted_at is not None:
                changed = row.content_hash != digest
                version = row.version + 1 if changed else row.version
                conn.execute(
                    update(items)
                    .where(items.c.platform == item.platform, items.c.item_id == item.id)
                    .values(
                        text=item.text,
                        flags=dict(item.flags),
                        content_hash=digest,
                        version=version,
                        last_seen_at=now,
                        deleted_at=None,
                        author_name=item.author_name,
                        url=item.url,
                    )
                )
                if changed:
                    new_versions.append(
                        (
                            item.platform,
                            item.id,
                            version,
                            item.text,
                            bind.flags(dict(item.flags)),
                            digest,
                            stamp,
                            run_id,
                        )
                    )
                    stats.changed += 1
                else:
                    stats.unchanged += 1
            else:
                stats.unchanged += 1
        # Plain executemany of ready rows: SQLAlchemy's per-row parameter processing cost
        # more than SQLite's inserts. Values go through the columns' own bind processors
        # (_sqlite_binds), so what is stored is what an ORM-style insert would store.
        if new_rows:
            conn.exec_driver_sql(_SQLITE_INSERT_ITEMS, new_rows)
        if new_versions:
            conn.exec_driver_sql(_SQLITE_INSERT_VERSIONS, new_versions)
    return stats


VERSION_COLUMNS = (
    "platform",
    "item_id",
    "version",
    "text",
    "flags",
    "content_hash",
    "observed_at",
    "run_id",
)
_SQLITE_INSERT_ITEMS = "insert into items ({}) values ({})".format(
    ", ".join(ITEM_COLUMNS), ", ".join("?" * len(ITEM_COLUMNS))
)
_SQLITE_INSERT_VERSIONS = "insert into item_versions ({}) values ({})".format(
    ", ".join(VERSION_COLUMNS), ", ".join("?" * len(VERSION_COLUMNS))
)


@dataclasses.dataclass(frozen=True, slots=True)
class _Binds:
    time: Callable
    flags: Callable
    boolean: Callable


_BINDS: dict[str, _Binds] = {}


def _sqlite_binds(dialect) -> _Binds:
    """The bind processors of items' timestamp, JSON and boolean columns for `dialect`."""
    binds = _BINDS.get(dialect.name)
    if binds is None:

        def processor(column):
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            return process or (lambda value: value)

        binds = _BINDS[dialect.name] = _Binds(
            processor(items.c.created_at), processor(items.c.flags), processor(items.c.is_own)
        )
    return binds


def _existing_sqlite(conn: Connection, keys: Sequence[tuple[str, str]]) -> dict:
    """The stored rows of `keys`, looked up per platform: `platform = ? and item_id in (...)`
    searches the primary key, while SQLite answers a row-value `(platform, item_id) in
    (...)` with a scan of the whole table (per batch: quadratic in the warehouse's size)."""
    by_platform: dict[str, list[str]] = {}
    for platform, item_id in keys:
        by_platform.setdefault(platform, []).append(item_id)
    existing = {}
    for platform, ids in by_platform.items():
        # Plain SQL: an expanding IN of 500 binds is re-rendered by SQLAlchemy every time.
        for row in conn.exec_driver_sql(
            "select platform, item_id, content_hash, version, deleted_at from items "
            f"where platform = ? and item_id in ({', '.join('?' * len(ids))})",
            (platform, *ids),
        ):
            existing[(row.platform, row.item_id)] = row
    return existing


# PostgreSQL types of ITEM_COLUMNS and VERSION_COLUMNS, for binary COPY.
_ITEM_TYPES = (
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "varchar",
    "text",
    "varchar",
    "bool",
    "varchar",
    "varchar",
    "timestamptz",
    "text",
    "text",
    "jsonb",
    "varchar",
    "int4",
    "timestamptz",
    "timestamptz",
)
_VERSION_TYPES = (
    "varchar",
    "varchar",
    "int4",
    "text",
    "jsonb",
    "varchar",
    "timestamptz",
    "varchar",
)


def _json_as_is(value: str) -> str:
    return value


def _load_items_postgresql(
    conn: Connection,
    run_id: str,
    batch_items: list[Item],
    now: datetime,
    pseudonymise,
    stats: LoadStats,
) -> LoadStats:
    """Look the batch up on the primary key, COPY the new items and their first versions
    straight into items and item_versions, update the changed (or reappeared) ones.

    Nothing is staged: a first load is all new rows, a re-run all unchanged ones, and
    changed texts are few (edits), so the set-based merge through a temporary stage (a
    COPY, an ANALYZE and a five-part statement a batch) cost more than it saved.
    """
    raw = conn.connection.driver_connection
    with raw.cursor() as cur:
        existing: dict[tuple[str, str], tuple] = {}
        by_platform: dict[str, list[str]] = {}
        for item in batch_items:
            by_platform.setdefault(item.platform, []).append(item.id)
        for platform, ids in by_platform.items():
            cur.execute(
                "select item_id, content_hash, version, deleted_at from items "
                "where platform = %s and item_id = any(%s)",
                (platform, ids),
            )
            for item_id, digest, version, deleted_at in cur:
                existing[(platform, item_id)] = (digest, version, deleted_at)
        rows, versions, updates = [], [], []
        for item in batch_items:
            digest = item.content_hash()
            old = existing.get((item.platform, item.id))
            if old is None:
                row = copy_row(item, digest, now, pseudonymise(item.platform, item.author_id))
                rows.append(row)
                versions.append(
                    (item.platform, item.id, 1, item.text, row[13], digest, now, run_id)
                )
            elif old[0] != digest or old[2] is not None:
                version = old[1] + 1 if old[0] != digest else old[1]
                flags = json.dumps(dict(item.flags), ensure_ascii=False, default=str)
                updates.append(
                    (
                        item.text,
                        flags,
                        digest,
                        version,
                        now,
                        item.author_name,
                        item.url,
                        item.platform,
                        item.id,
                    )
                )
                if old[0] != digest:
                    versions.append(
                        (item.platform, item.id, version, item.text, flags, digest, now, run_id)
                    )
                    stats.changed += 1
        # Binary COPY: psycopg writes the values without formatting them as text (a third
        # of the client's cost per row). The flags are JSON already (copy_row): jsonb
        # takes them as they are.
        set_json_dumps(_json_as_is, context=cur)
        if rows:
            with cur.copy(
                f"copy items ({', '.join(ITEM_COLUMNS)}) from stdin (format binary)"
            ) as copy:
                copy.set_types(_ITEM_TYPES)
                for row in rows:
                    copy.write_row(row)
        if versions:
            with cur.copy(
                f"copy item_versions ({', '.join(VERSION_COLUMNS)}) from stdin (format binary)"
            ) as copy:
                copy.set_types(_VERSION_TYPES)
                for row in versions:
                    copy.write_row(row)
        if updates:
            cur.executemany(
                "update items set text = %s, flags = %s, content_hash = %s, version = %s, "
                "last_seen_at = %s, deleted_at = null, author_name = %s, url = %s "
                "where platform = %s and item_id = %s",
                updates,
            )
        _keep_statistics(conn, cur, len(rows))
    stats.new = len(rows)
    stats.unchanged = stats.seen - stats.new - stats.changed
    return stats


# Rows inserted into items, per database, since its statistics were last refreshed here.
_GROWTH: dict[str, list[int]] = {}
ANALYZE_MIN_ROWS = 5000


def _keep_statistics(conn: Connection, cur, inserted: int) -> None:
    """ANALYZE items whenever this process has doubled it.

    The primary-key look-up only stays a look-up while the planner knows how big items
    is: with the statistics of a smaller table (a first load, before autovacuum's next
    analyze, up to a minute and hundreds of thousands of rows later) it scans an index of
    the whole platform for every batch, and loading turns quadratic. Doubling keeps the
    cost logarithmic: about 8 analyzes over a first load of 1,000,000 items.
    """
    if not inserted:
        return
    key = conn.engine.url.render_as_string(hide_password=True)
    state = _GROWTH.get(key)
    if state is None:
        cur.execute(
            "select greatest(reltuples, 0)::bigint from pg_class where oid = 'items'::regclass"
        )
        state = _GROWTH[key] = [int(cur.fetchone()[0]), 0]
    state[1] += inserted
    if state[1] >= max(ANALYZE_MIN_ROWS, state[0]):
        cur.execute("analyze items")  # item_versions is never looked up here
        state[0] += state[1]
        state[1] = 0


def load_batch(
    conn: Connection,
    run_id: str,
    platform: str,
    account_id: str,
    batch: Batch,
    now: datetime | None = None,
    pseudonymise: Callable[[str, str], str] | None = None,
) -> LoadStats:
    """Store one batch: its raw pages, then its items. Call inside a transaction."""
    stats = load_items(conn, run_id, batch.items, now, pseudonymise)
    stats.pages = store_pages(conn, run_id, platform, account_id, batch.pages)
    return stats


def mark_deleted(
    conn: Connection,
    platform: str,
    account_id: str,
    scopes: Iterable[Scope],
    seen_ids: Container[str],
    now: datetime | None = None,
) -> int:
    """Mark items inside completely listed scopes that the pass did not return as deleted.

    Items are never removed: deleted_at is set, and the text stays in item_versions.
    Thread scopes (root_id set) that share `since` and `kind` are looked up together,
    CHUNK roots a query: a pass lists one such scope per post it read.
    """
    now = now or utcnow()
    count = 0
    groups: dict[tuple, list[str]] = {}
    for scope in scopes:
        if scope.root_id is None:
            count += _mark_gone(
                conn,
                platform,
                account_id,
                _scope_candidates(conn, platform, account_id, scope.since, scope.kind, None),
                seen_ids,
                now,
            )
        else:
            groups.setdefault((scope.since, scope.kind), []).append(scope.root_id)
    for (since, kind), roots in groups.items():
        roots = list(dict.fromkeys(roots))
        for start in range(0, len(roots), CHUNK):
            count += _mark_gone(
                conn,
                platform,
                account_id,
                _scope_candidates(
                    conn, platform, account_id, since, kind, roots[start : start + CHUNK]
                ),
                seen_ids,
                now,
            )
    return count


def _scope_candidates(
    conn: Connection,
    platform: str,
    account_id: str,
    since: datetime | None,
    kind: str | None,
    roots: Sequence[str] | None,
) -> list[str]:
    """Ids of the account's items, not yet deleted, in a scope (in threads `roots`, without
    the roots themselves)."""
    conditions = [
        items.c.platform == platform,
        items.c.account_id == account_id,
        items.c.deleted_at.is_(None),
    ]
    if since is not None:
        conditions.append(items.c.created_at >= since)
    if roots is not None:
        conditions += [items.c.root_id.in_(roots), items.c.item_id != items.c.root_id]
    if kind is not None:
        conditions.append(items.c.kind == kind)
    return [row.item_id for row in conn.execute(select(items.c.item_id).where(and_(*conditions)))]


def _mark_gone(
    conn: Connection,
    platform: str,
    account_id: str,
    candidates: list[str],
    seen_ids: Container[str],
    now: datetime,
) -> int:
    count = 0
    gone = [item_id for item_id in candidates if item_id not in seen_ids]
    for start in range(0, len(gone), CHUNK):
        chunk = gone[start : start + CHUNK]
        result = conn.execute(
            update(items)
            .where(items.c.platform == platform, items.c.item_id.in_(chunk))
            .values(deleted_at=now)
        )
        count += result.rowcount
        # A deleted post takes its comments with it on every platform.
        result = conn.execute(
            update(items)
            .where(
                items.c.platform == platform,
                items.c.account_id == account_id,
                items.c.root_id.in_(chunk),
                items.c.deleted_at.is_(None),
            )
            .values(deleted_at=now)
        )
        count += result.rowcount
    return count


def count_items(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(items)).scalar_one()
