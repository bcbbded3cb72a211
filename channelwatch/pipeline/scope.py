"""What the checks read as of an instant (see channelwatch.pipeline), and the batch suite
run again over it: failing items are held back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, and_, or_, select, tuple_

from channelwatch.pipeline.gate import Gate, item_json, quarantine, row_item
from channelwatch.warehouse.schema import (
    items,
    quarantined_batches,
)
from kernel.config import Settings
from kernel.items import Item

log = logging.getLogger(__name__)


# -- what the checks read ---------------------------------------------------------------------


def held_back(engine: Engine, as_of: datetime | None = None) -> set[tuple[str, str]]:
    """Keys of loaded items held in unreleased quarantined batches."""
    q = quarantined_batches.c
    query = select(q["items"], q.validation_result).where(q.released_at.is_(None))
    if as_of is not None:
        query = query.where(q.quarantined_at <= as_of)
    keys: set[tuple[str, str]] = set()
    with engine.connect() as conn:
        for stored, validation in conn.execute(query):
            meta = (validation or {}).get("channelwatch") or {}
            if not meta.get("loaded"):
                continue
            for entry in stored or []:
                if isinstance(entry, Mapping) and entry.get("platform") and entry.get("id"):
                    keys.add((str(entry["platform"]), str(entry["id"])))
    return keys


def _window(settings: Settings) -> timedelta:
    return timedelta(days=max(settings.api.lookback_days, 1))


def scope_items(settings: Settings, engine: Engine, as_of: datetime) -> list[Item]:
    """The items the checks evaluate as of ``as_of`` (see the module docstring)."""
    start = as_of - _window(settings)
    configured = [(p, a.id) for p, a in settings.accounts.all()]
    if not configured:
        return []
    touched = (
        select(items.c.platform, items.c.root_id)
        .where(items.c.created_at > start, items.c.created_at <= as_of)
        .distinct()
        .subquery()
    )
    query = (
        select(items)
        .join(
            touched,
            and_(touched.c.platform == items.c.platform, touched.c.root_id == items.c.root_id),
        )
        .where(
            items.c.created_at <= as_of,
            or_(items.c.deleted_at.is_(None), items.c.deleted_at > as_of),
            tuple_(items.c.platform, items.c.account_id).in_(configured),
        )
        .order_by(items.c.platform, items.c.root_id, items.c.created_at, items.c.item_id)
    )
    hold = held_back(engine, as_of)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [row_item(r) for r in rows if (r["platform"], r["item_id"]) not in hold]


def validate_scope(
    settings: Settings, engine: Engine, as_of: datetime, scope: list[Item] | None = None
) -> dict[str, Any]:
    """The batch suite over what the checks will read; failing items are held back.

    Returns:
        {"items": n validated, "quarantined": [batch ids], "summary": [one line each]}.
    """
    from checks import quality

    scope = scope_items(settings, engine, as_of) if scope is None else scope
    out: dict[str, Any] = {"items": len(scope), "quarantined": [], "summary": []}
    by_account: dict[tuple[str, str], list[Item]] = {}
    for item in scope:
        by_account.setdefault((item.platform, item.account), []).append(item)
    for (platform, account_id), group in sorted(by_account.items()):
        gate = Gate(settings, engine, platform, as_of)
        known = gate.known_ids(quality.parents_to_look_up(group))
        result = quality.validate_batch(
            group, platform=platform, accounts=gate.accounts, now=as_of, known_ids=known
        )
        if result.success:
            continue
        bad = {i for failure in result.failed for i in failure["examples"] if i}
        held = [item_json(i) for i in group if i.id in bad]
        batch_id = quarantine(
            engine,
            run_id="",
            platform=platform,
            account_id=account_id,
            items_json=held,
            result=result,
            stage="scope",
            loaded=True,
            now=as_of,
        )
        out["quarantined"].append(batch_id)
        out["summary"].append(f"{platform} account {account_id}: {result.summary()}")
    return out
