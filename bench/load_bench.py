"""Warehouse load step against a raw COPY of the same rows, measured in the same run.

    .venv/bin/python bench/load_bench.py [--items 200000] [--batch 1000] [--pg URL] [--sqlite]

Prints items/s for: our loader into PostgreSQL (new items, then the same items again:
the idempotent re-load), a raw COPY of the same rows into a bare PostgreSQL table, and our
loader into SQLite. Target (issue 3): the PostgreSQL load step at least half the COPY rate.
With a local server it also prints the CPU each costs per row, in this process (getrusage)
and in the server backend (/proc/<pid>/stat), which machine load does not inflate.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.pool import StaticPool  # noqa: E402

from channelwatch.warehouse import load, make_engine, upgrade  # noqa: E402
from kernel.config import settings_from_dict  # noqa: E402
from kernel.items import Item  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ACCOUNT = "104958162837"
SETTINGS = settings_from_dict(
    {"accounts": {"facebook": [{"id": ACCOUNT, "name": "Council", "conn_id": "cw_facebook"}]}}
)


def synthetic(n: int, start: int = 0):
    for i in range(start, start + n):
        post = i // 50
        is_post = i % 50 == 0
        yield Item(
            "facebook",
            f"{ACCOUNT}_{i}",
            "post" if is_post else "comment",
            ACCOUNT,
            f"u{i % 9973}",
            f"Resident {i % 9973}",
            is_post,
            None if is_post else f"{ACCOUNT}_{post * 50}",
            f"{ACCOUNT}_{post * 50}",
            T0 + timedelta(seconds=i),
            f"Comment number {i}: when is the tip open on Sunday?",
            f"https://facebook.com/{i}",
            {"is_hidden": False},
        )


def batches(n: int, size: int):
    items = synthetic(n)
    while True:
        chunk = [item for _, item in zip(range(size), items)]
        if not chunk:
            return
        yield chunk


CPU: dict[str, tuple[float, float]] = {}  # what -> (client, server) CPU seconds


def _process_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _backend_cpu(conn) -> float | None:
    """CPU seconds of this connection's server process, when the server is local."""
    try:
        pid = conn.exec_driver_sql("select pg_backend_pid()").scalar()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None


def _cpu_now(engine) -> tuple[float, float | None]:
    if engine.dialect.name != "postgresql":
        return _process_cpu(), None
    with engine.connect() as conn:
        return _process_cpu(), _backend_cpu(conn)


def _cpu_since(what: str, engine, start: tuple[float, float | None]) -> None:
    client, server = _cpu_now(engine)
    CPU[what] = (
        client - start[0],
        None if server is None or start[1] is None else server - start[1],
    )


def bench_loader(engine, n: int, size: int) -> tuple[float, float]:
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS)
    rates = []
    for again in range(2):  # first: all new; second: the same rows again (nothing to write)
        cpu = _cpu_now(engine)
        start = time.perf_counter()
        for chunk in batches(n, size):
            with engine.begin() as conn:
                load.load_items(conn, "bench", chunk, T0)
        rates.append(n / (time.perf_counter() - start))
        _cpu_since(f"{engine.dialect.name} load{' again' if again else ''}", engine, cpu)
    return rates[0], rates[1]


def bench_copy(url: str, n: int, size: int) -> float:
    """COPY the same rows (same columns, same Python-side preparation) into a bare table."""
    engine = make_engine(url, poolclass=StaticPool)  # one backend, for its CPU
    with engine.begin() as conn:
        conn.execute(text("drop table if exists copy_bench"))
        conn.execute(text("create table copy_bench (like items including defaults)"))
    columns = [
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
    ]
    cpu = _cpu_now(engine)
    start = time.perf_counter()
    for chunk in batches(n, size):
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                with cur.copy(f"copy copy_bench ({', '.join(columns)}) from stdin") as copy:
                    for item in chunk:
                        copy.write_row(load.copy_row(item, item.content_hash(), T0, ""))
    rate = n / (time.perf_counter() - start)
    _cpu_since("postgresql raw COPY", engine, cpu)
    with engine.begin() as conn:
        conn.execute(text("drop table copy_bench"))
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument(
        "--pg",
        default=os.environ.get("BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"),
    )
    args = parser.parse_args()

    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    pg_url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        pg = make_engine(pg_url, poolclass=StaticPool)  # one backend, for its CPU
        upgrade(pg)
        pg_new, pg_again = bench_loader(pg, args.items, args.batch)
        copy_rate = bench_copy(pg_url, args.items, args.batch)
        pg.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'drop database if exists "{name}" with (force)'))
    with tempfile.TemporaryDirectory() as tmp:
        lite = make_engine(f"sqlite:///{tmp}/bench.db")
        upgrade(lite)
        lite_new, lite_again = bench_loader(lite, args.items, args.batch)
    print(f"items: {args.items}, batch: {args.batch}")
    print(f"postgresql load (new items):       {pg_new:>10,.0f} items/s")
    print(f"postgresql load (same items again): {pg_again:>10,.0f} items/s")
    print(f"postgresql raw COPY, same rows:     {copy_rate:>10,.0f} items/s")
    print(f"load / COPY:                        {pg_new / copy_rate:>10.2f} (target >= 0.50)")
    print(f"sqlite load (new items):            {lite_new:>10,.0f} items/s")
    print(f"sqlite load (same items again):     {lite_again:>10,.0f} items/s")
    print("CPU per row, this process + the PostgreSQL backend (us):")
    for what, (client, server) in CPU.items():
        server_us = f"{1e6 * server / args.items:6.1f}" if server is not None else "   n/a"
        total = f"{1e6 * (client + server) / args.items:6.1f}" if server is not None else ""
        print(f"  {what:<32} {1e6 * client / args.items:6.1f} + {server_us} = {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
