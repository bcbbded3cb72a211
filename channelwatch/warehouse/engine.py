"""Connecting to the warehouse: SQLite (embedded default) or PostgreSQL (WAREHOUSE_URL)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from kernel.errors import UserError


def normalise_url(url: str) -> str:
    """Accept postgres://, postgresql:// and sqlite:/// URLs; pick the psycopg 3 driver."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str, *, must_exist: bool = False, **kwargs) -> Engine:
    """An engine for the warehouse at `url`; creates the SQLite file's folder.

    Args:
        url: a SQLite or PostgreSQL URL.
        must_exist: for commands that only read or change an existing warehouse: a SQLite
            file that is not there is an error, not a new empty file and folder.

    Raises:
        UserError: when the URL is not a usable SQLite or PostgreSQL URL, or names a SQLite
            file that does not exist and ``must_exist`` is set.
    """
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise UserError(f"warehouse URL {url!r} is not a database URL") from None
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            if must_exist and not Path(parsed.database).is_file():
                raise UserError(
                    f"no warehouse at {parsed.database} (not created or not "
                    "migrated): run `channelwatch db upgrade` first, or point "
                    "warehouse_url or WAREHOUSE_URL at yours"
                )
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if backend == "postgresql":
        return create_engine(parsed, pool_pre_ping=True, **kwargs)
    raise UserError(f"warehouse URL must be sqlite:/// or postgresql://, got {backend}://")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
