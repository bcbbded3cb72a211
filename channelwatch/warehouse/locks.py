"""Locks that let two runs share one warehouse (two days at once, a backfill beside the DAG).

On PostgreSQL these are advisory locks, released by the server if the process dies:

* `account_lock(engine, platform, account_id)` — one ingestion pass of an account at a
  time (a session lock, held for the whole pass). Two passes of one account at once would
  both insert the same new items (a unique violation fails one of them) and race on the
  watermarks; the second now waits, then reads incrementally from where the first left.
* `xact_lock(conn, name)` — one writer of a shared table at a time, until the end of the
  transaction: "findings" (two syncs that both find a finding new would both insert it),
  "derived" (two rebuilds of item_responses would both insert every row).

SQLite (the single-user embedded default) serialises writers itself; both are no-ops there.
"""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import Iterator

from sqlalchemy import Connection, Engine, text

__all__ = ["account_lock", "xact_lock"]


def _key(*parts: str) -> int:
    """A signed 64-bit advisory-lock key for `parts`."""
    digest = hashlib.blake2b("\x1f".join(("channelwatch", *parts)).encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


@contextlib.contextmanager
def account_lock(engine: Engine, platform: str, account_id: str) -> Iterator[None]:
    """Hold the account's ingestion lock for the duration of the block."""
    if engine.dialect.name != "postgresql":
        yield
        return
    key = _key("ingest", platform, account_id)
    with engine.connect() as conn:
        conn.execute(text("select pg_advisory_lock(:k)"), {"k": key})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("select pg_advisory_unlock(:k)"), {"k": key})
            conn.commit()


def xact_lock(conn: Connection, name: str) -> None:
    """Take the lock `name` until the end of `conn`'s transaction."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("select pg_advisory_xact_lock(:k)"), {"k": _key("table", name)})
