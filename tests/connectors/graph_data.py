"""Hand-written Graph data directories and warehouse helpers for the Graph connector tests."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import select, text

from channelwatch.ingest import ingest_account
from channelwatch.warehouse.schema import items
from sandbox.graph import graph_time
from sandbox.scenario import DEFAULT_ACCOUNTS

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=timezone.utc)
PAGE, PAGE_HANDLE, PAGE_NAME = DEFAULT_ACCOUNTS["facebook"]
IG_USER, IG_HANDLE, IG_NAME = DEFAULT_ACCOUNTS["instagram"]
TABLES = ("items", "item_versions", "raw_payloads", "watermarks")


def ago(**delta) -> datetime:
    return NOW - timedelta(**delta)


def private(edits=(), deleted_at=None) -> dict:
    return {
        "_sandbox": {
            "edits": [{"at": graph_time(at), "text": body} for at, body in edits],
            "deleted_at": graph_time(deleted_at) if deleted_at else None,
        }
    }


def fb_post(n: int, created: datetime, message: str, page: str = PAGE, **extra) -> dict:
    return {
        "id": f"{page}_{n}",
        "message": message,
        "created_time": graph_time(created),
        "permalink_url": f"https://www.facebook.com/{page}/posts/{n}/",
        "from": {"name": PAGE_NAME, "id": page},
        "is_published": True,
        "promotion_status": "ineligible",
        **extra,
    }


def fb_comment(
    post_n: int,
    n: int,
    created: datetime,
    message: str,
    who=("5551", "Ann Resident"),
    parent: int | None = None,
    **extra,
) -> dict:
    row = {
        "id": f"{post_n}_{n}",
        "message": message,
        "created_time": graph_time(created),
        "from": {"name": who[1], "id": who[0]},
        "is_hidden": False,
        "permalink_url": f"https://www.facebook.com/{PAGE}/posts/{post_n}/?comment_id={n}",
    }
    if parent is not None:
        row["parent"] = {"id": f"{post_n}_{parent}"}
    row.update(extra)
    return row


def ig_media(media_id: str, created: datetime, caption: str, **extra) -> dict:
    return {
        "id": media_id,
        "caption": caption,
        "timestamp": graph_time(created),
        "permalink": f"https://www.instagram.com/p/{media_id[-6:]}/",
        "media_type": "IMAGE",
        "media_product_type": "FEED",
        "username": IG_HANDLE,
        "owner": {"id": IG_USER},
        **extra,
    }


def ig_comment(
    media_id: str,
    comment_id: str,
    created: datetime,
    body: str,
    who=("1784145001", "ann.resident"),
    parent: str | None = None,
    **extra,
) -> dict:
    row = {
        "id": comment_id,
        "text": body,
        "timestamp": graph_time(created),
        "username": who[1],
        "from": {"id": who[0], "username": who[1]},
        "hidden": False,
        "media": {"id": media_id},
    }
    if parent:
        row["parent_id"] = parent
    row.update(extra)
    return row


def write(data_dir: Path, platform: str, name: str, rows: list[dict]) -> None:
    path = Path(data_dir) / platform / f"{name}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {t: conn.execute(text(f"select count(*) from {t}")).scalar_one() for t in TABLES}


def item(engine, item_id: str):
    with engine.connect() as conn:
        return conn.execute(select(items).where(items.c.item_id == item_id)).one_or_none()


def versions(engine, item_id: str) -> list[str]:
    with engine.connect() as conn:
        return [
            r.text
            for r in conn.execute(
                text("select text from item_versions where item_id = :i order by version"),
                {"i": item_id},
            )
        ]


def ingest(settings, engine, platform: str, account_id: str | None = None, now: datetime = NOW):
    account_id = account_id or (PAGE if platform == "facebook" else IG_USER)
    return ingest_account(settings, engine, platform, account_id, now=now)


def all_text(engine) -> str:
    """Every stored value of the tables a token could leak into, as one string."""
    parts = []
    with engine.connect() as conn:
        for table in (
            "raw_payloads",
            "ingestion_runs",
            "ingestion_run_endpoints",
            "items",
            "item_versions",
            "watermarks",
        ):
            for row in conn.execute(text(f"select * from {table}")):
                parts.append(" ".join(str(v) for v in row))
    return "\n".join(parts)
