"""The loader's fast paths give what the general ones gave: binary COPY and executemany
store the same values, storable()'s shortcut returns what its full path returns, the
pass's seen ids answer membership, and PostgreSQL's statistics follow a first load."""

from __future__ import annotations

import dataclasses
import itertools
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from channelwatch.ingest import SeenIds
from channelwatch.warehouse import load
from channelwatch.warehouse.schema import item_versions, items
from kernel.config import settings_from_dict
from kernel.items import Item, _storable, storable, storable_text

T0 = datetime(2026, 1, 1, 9, 30, 15, 123456, tzinfo=timezone(timedelta(hours=2)))
SETTINGS = settings_from_dict(
    {"accounts": {"facebook": [{"id": "A", "name": "Council", "conn_id": "cw_facebook"}]}}
)


def _item(n: int, **changes) -> Item:
    base = Item(
        "facebook",
        f"i{n}",
        "comment",
        "A",
        f"u{n}",
        "Zoë 👍",
        n % 2 == 0,
        None if n % 3 else "p",
        "p",
        T0 + timedelta(seconds=n),
        "héllo 👍 \u2028",
        None if n % 4 else "https://example.org/x",
        {
            "is_hidden": bool(n % 2),
            "sponsor_tags": ["Caffè"],
            "n": n,
            "none": None,
            "nested": {"b": 1, "a": [1.5, "x"]},
        },
    )
    return dataclasses.replace(base, **changes)


def test_both_dialects_store_and_version_the_same_values(engine):
    batch = [_item(n) for n in range(12)]
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS, T0)
        first = load.load_items(conn, "r1", batch, T0)
        edited = [dataclasses.replace(i, text=i.text + " (edited)") for i in batch[:3]]
        second = load.load_items(conn, "r2", edited + batch[3:], T0 + timedelta(hours=1))
    assert (first.new, second.changed, second.unchanged) == (12, 3, 9)
    with engine.connect() as conn:
        rows = {r.item_id: r for r in conn.execute(select(items))}
        versions = conn.execute(
            select(
                item_versions.c.item_id,
                item_versions.c.version,
                item_versions.c.flags,
                item_versions.c.observed_at,
            ).order_by(item_versions.c.item_id, item_versions.c.version)
        ).all()
    assert len(versions) == 15
    for n in range(12):
        row, item = rows[f"i{n}"], batch[n]
        assert row.flags == {
            "is_hidden": bool(n % 2),
            "sponsor_tags": ["Caffè"],
            "n": n,
            "none": None,
            "nested": {"a": [1.5, "x"], "b": 1},
        }
        assert row.created_at == item.created_at and row.is_own is (n % 2 == 0)
        assert (row.url, row.parent_id, row.author_name) == (item.url, item.parent_id, "Zoë 👍")
        assert row.version == (2 if n < 3 else 1)
        assert row.text == item.text + (" (edited)" if n < 3 else "")
        assert row.content_hash == (dataclasses.replace(item, text=row.text)).content_hash()
    assert [v.version for v in versions if v.item_id == "i0"] == [1, 2]


def test_storable_shortcut_gives_what_the_full_path_gives():
    def full(item):
        fields = {
            name: getattr(item, name)
            for name in (
                "id",
                "account",
                "author_id",
                "author_name",
                "parent_id",
                "root_id",
                "text",
                "url",
            )
        }
        clean = {k: storable_text(v) for k, v in fields.items() if isinstance(v, str)}
        flags = _storable(item.flags) if item.flags else item.flags
        changed = {k: v for k, v in clean.items() if v is not fields[k]}
        if flags is not item.flags and flags != dict(item.flags):
            changed["flags"] = flags
        return dataclasses.replace(item, **changed) if changed else item

    texts = ["plain", "nul \x00 here", "lone \ud83d", "emoji 👏", ""]
    flags = [
        {},
        {"a": "x\x00"},
        {"a": ("t",)},
        {1: "x"},
        {"a": ["\ud800"]},
        {"a": {"b": "ok"}},
        {"é": "ü"},
        {"a": None, "b": 1.5, "c": True},
    ]
    for text, flag, url in itertools.product(texts, flags, (None, "https://x/\x00")):
        item = _item(1, text=text, flags=flag, url=url)
        fast, slow = storable(item), full(item)
        assert fast == slow and (fast is item) == (slow is item), (text, flag, url)


def test_seen_ids_answer_membership():
    seen = SeenIds()
    seen.update(f"10160000000000001_{n}" for n in range(1000))
    assert "10160000000000001_999" in seen and "10160000000000001_1000" not in seen
    assert len(seen) == 1000


def test_postgresql_statistics_follow_a_first_load(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("the planner statistics are PostgreSQL's")
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS, T0)
    total = load.ANALYZE_MIN_ROWS + 1000
    for start in range(0, total, 1000):
        with engine.begin() as conn:
            load.load_items(conn, "r", [_item(n) for n in range(start, start + 1000)], T0)
    with engine.connect() as conn:
        reltuples = conn.exec_driver_sql(
            "select reltuples from pg_class where oid = 'items'::regclass"
        ).scalar()
    assert reltuples >= load.ANALYZE_MIN_ROWS
