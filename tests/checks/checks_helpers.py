"""Helpers for the checks tests: build canonical items and run the rules on them."""

from __future__ import annotations

from datetime import UTC, datetime

from checks import run_checks
from kernel.config import Settings
from kernel.items import Item

AS_OF = datetime(2025, 3, 20, 12, tzinfo=UTC)


def make(
    text: str = "",
    *,
    id: str = "i1",
    own: bool = False,
    kind: str = "comment",
    root: str = "p1",
    at: str = "2025-03-03T10:00:00+00:00",
    platform: str = "facebook",
    flags: dict | None = None,
) -> Item:
    return Item.from_dict(
        {
            "platform": platform,
            "id": id,
            "kind": kind,
            "account": "acct",
            "author_id": "acct" if own else "u1",
            "author_name": "Council" if own else "Resident",
            "is_own": own,
            "parent_id": None if kind == "post" else root,
            "root_id": id if kind == "post" else root,
            "created_at": at,
            "text": text,
            "flags": flags or {},
        }
    )


def rules_for(item_or_items, settings: Settings | None = None, as_of: datetime = AS_OF):
    items = item_or_items if isinstance(item_or_items, list) else [item_or_items]
    return {f.rule: f for f in run_checks(items, settings or Settings(), as_of)}
