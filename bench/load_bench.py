"""Warehouse load step against a raw COPY of the same rows, measured in the same run.

    .venv/bin/python bench/load_bench.py [--items 200000] [--batch 1000] [--pg URL] [--sqlite]

Prints items/s for: our loader into PostgreSQL (new items, then the same items again:
the idempotent re-load), a raw COPY of the same rows into a bare PostgreSQL table, and our
loader into SQLite. Target (issue 3): the PostgreSQL load step at least half the COPY rate.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text  # noqa: E402

from channelwatch.config import settings_from_dict  # noqa: E402
from channelwatch.items import Item  # noqa: E402
from channelwatch.warehouse import load, make_engine, upgrade  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)
ACCOUNT = "104958162837"
SETTINGS = settings_from_dict({"accounts": {"facebook": [
    {"id": ACCOUNT, "name": "Council", "conn_id": "cw_facebook"}]}})


def synthetic(n: int, start: int = 0):
    for i in range(start, start + n):
        post = i // 50
        is_post = i % 50 == 0
        yield Item("facebook", f"{ACCOUNT}_{i}", "post" if is_post else "comment", ACCOUNT,
                   f"u{i % 9973}", f"Resident {i % 9973}", is_post,
                   None if is_post else f"{ACCOUNT}_{post * 50}", f"{ACCOUNT}_{post * 50}",
                   T0 + timedelta(seconds=i), f"Comment number {i}: when is the tip open on Sunday?",
                   f"https://facebook.com/{i}", {"is_hidden": False})


def batches(n: int, size: int):
    items = synthetic(n)
    while True:
        chunk = [item for _, item in zip(range(size), items)]
        if not chunk:
            return
        yield chunk


def bench_loader(engine, n: int, size: int) -> tuple[float, float]:
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS)
    rates = []
    for _ in range(2):  # first: all new; second: the same rows again (nothing to write)
        start = time.perf_counter()
        for chunk in batches(n, size):
            with engine.begin() as conn:
                load.load_items(conn, "bench", chunk, T0)
        rates.append(n / (time.perf_counter() - start))
    return rates[0], rates[1]


def bench_copy(url: str, n: int, size: int) -> float:
    """COPY the same rows (same columns, same Python-side preparation) into a bare table."""
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(text("drop table if exists copy_bench"))
        conn.execute(text("create table copy_bench (like items including defaults)"))
    columns = ["platform", "item_id", "kind", "account_id", "author_id", "author_name",
               "author_ref", "is_own", "parent_id", "root_id", "created_at", "text", "url",
               "flags", "content_hash", "version", "first_seen_at", "last_seen_at"]
    start = time.perf_counter()
    for chunk in batches(n, size):
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cur:
                with cur.copy(f"copy copy_bench ({', '.join(columns)}) from stdin") as copy:
                    for item in chunk:
                        copy.write_row(load.copy_row(item, item.content_hash(), T0, ""))
    rate = n / (time.perf_counter() - start)
    with engine.begin() as conn:
        conn.execute(text("drop table copy_bench"))
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--pg", default=os.environ.get(
        "BENCH_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    args = parser.parse_args()

    name = f"cw_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'create database "{name}"'))
    pg_url = args.pg.rsplit("/", 1)[0] + f"/{name}"
    try:
        pg = make_engine(pg_url)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
