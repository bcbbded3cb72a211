"""Personal data: pseudonymising public authors and erasing one person's data.

Analyst views show `author_ref`, a keyed hash (HMAC-SHA256) of platform and author id,
instead of the id. The key lives in an Airflow connection (Settings.privacy), so a copy of
the warehouse alone cannot be used to re-identify authors by hashing known ids.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import datetime, timezone

from sqlalchemy import Engine, delete, insert, or_, select, update

from channelwatch.secrets import get_credentials
from channelwatch.warehouse import schema as s
from kernel.config import Settings


def make_pseudonymiser(key: str) -> Callable[[str, str], str]:
    """A function (platform, author_id) -> author_ref under `key`."""
    secret = key.encode("utf-8")

    def author_ref(platform: str, author_id: str) -> str:
        if not author_id:
            return ""
        message = f"{platform}:{author_id}".encode("utf-8", "surrogatepass")
        return hmac.digest(secret, message, "sha256").hex()[:32]  # = hmac.new(...).hexdigest()

    return author_ref


def pseudonymiser(settings: Settings) -> Callable[[str, str], str]:
    """The pseudonymiser keyed from the configured connection.

    Raises:
        CredentialsError: when the connection is missing (names it).
    """
    creds = get_credentials(settings.privacy.pseudonym_conn_id, "privacy")
    return make_pseudonymiser(creds.token)


ERASED = "[erased]"


def _scrub_json(node, item_ids: set[str], values: set[str]):
    """Remove objects whose id is an erased item; replace the person's id and name."""
    if isinstance(node, dict):
        return {k: _scrub_json(v, item_ids, values) for k, v in node.items()}
    if isinstance(node, list):
        return [
            _scrub_json(v, item_ids, values)
            for v in node
            if not (isinstance(v, dict) and str(v.get("id", "")) in item_ids)
        ]
    if isinstance(node, str) and node in values:
        return ERASED
    return node


def scrub_body(body: str, item_ids: set[str], values: set[str]) -> str:
    """A raw page with one person's objects removed (JSON), or their ids replaced (text)."""
    try:
        data = json.loads(body)
    except ValueError:
        for value in sorted(values | item_ids, key=len, reverse=True):
            body = body.replace(value, ERASED)
        return body
    return json.dumps(
        _scrub_json(data, item_ids, values), ensure_ascii=False, separators=(",", ":")
    )


def erase_author(
    engine: Engine,
    platform: str | None,
    author_id: str,
    *,
    actor: str,
    reason: str,
    author_ref: Callable[[str, str], str],
    now=None,
) -> dict[str, int]:
    """Remove one person's items from every table, raw payloads included; record it.

    Returns rows removed or rewritten per table. Idempotent: a second run removes nothing
    but is recorded too.
    """
    now = now or datetime.now(timezone.utc)
    counts: dict[str, int] = {}
    with engine.begin() as conn:
        cond = s.items.c.author_id == author_id
        if platform:
            cond = cond & (s.items.c.platform == platform)
        rows = conn.execute(
            select(s.items.c.platform, s.items.c.item_id, s.items.c.author_name).where(cond)
        ).all()
        keys = [(r.platform, r.item_id) for r in rows]
        names = {r.author_name for r in rows if r.author_name}
        platforms = sorted({r.platform for r in rows} | ({platform} if platform else set()))
        ids_by_platform: dict[str, set[str]] = {}
        for p, i in keys:
            ids_by_platform.setdefault(p, set()).add(i)
        counts["findings"] = counts["finding_events"] = counts["item_versions"] = 0
        counts["item_responses"] = 0
        for p, ids in ids_by_platform.items():
            id_list = sorted(ids)
            for start in range(0, len(id_list), 500):
                chunk = id_list[start : start + 500]
                fids = [
                    f
                    for (f,) in conn.execute(
                        select(s.findings.c.finding_id).where(
                            s.findings.c.platform == p, s.findings.c.item_id.in_(chunk)
                        )
                    )
                ]
                if fids:
                    counts["finding_events"] += conn.execute(
                        delete(s.finding_events).where(s.finding_events.c.finding_id.in_(fids))
                    ).rowcount
                    counts["findings"] += conn.execute(
                        delete(s.findings).where(s.findings.c.finding_id.in_(fids))
                    ).rowcount
                counts["item_versions"] += conn.execute(
                    delete(s.item_versions).where(
                        s.item_versions.c.platform == p, s.item_versions.c.item_id.in_(chunk)
                    )
                ).rowcount
                counts["item_responses"] += conn.execute(
                    delete(s.item_responses).where(
                        s.item_responses.c.platform == p, s.item_responses.c.item_id.in_(chunk)
                    )
                ).rowcount
        counts["items"] = conn.execute(delete(s.items).where(cond)).rowcount if keys else 0
        # Raw pages: rewrite every page that mentions the person, whatever the account.
        values = {author_id} | names
        all_ids = {i for _, i in keys}
        rewritten = 0
        page_cond = or_(*[s.raw_payloads.c.body.contains(v) for v in sorted(values | all_ids)])
        if platforms:
            page_cond = page_cond & s.raw_payloads.c.platform.in_(platforms)
        pages = s.raw_payloads.c
        for row in conn.execute(
            select(
                pages.payload_id, pages.platform, pages.account_id, pages.endpoint, pages.body
            ).where(page_cond)
        ).all():
            body = scrub_body(row.body, all_ids, values)
            if body == row.body:
                continue
            digest = hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()
            same = conn.execute(
                select(pages.payload_id).where(
                    pages.platform == row.platform,
                    pages.account_id == row.account_id,
                    pages.endpoint == row.endpoint,
                    pages.sha256 == digest,
                )
            ).first()
            if same:  # the scrubbed page is identical to one already kept
                conn.execute(delete(s.raw_payloads).where(pages.payload_id == row.payload_id))
            else:
                conn.execute(
                    update(s.raw_payloads)
                    .where(pages.payload_id == row.payload_id)
                    .values(body=body, sha256=digest)
                )
            rewritten += 1
        counts["raw_payloads"] = rewritten
        quarantined = 0
        for row in conn.execute(
            select(s.quarantined_batches.c.batch_id, s.quarantined_batches.c["items"])
        ).all():
            kept = [i for i in (row.items or []) if str(i.get("author_id")) != author_id]
            if len(kept) != len(row.items or []):
                conn.execute(
                    update(s.quarantined_batches)
                    .where(s.quarantined_batches.c.batch_id == row.batch_id)
                    .values(items=kept, item_count=len(kept))
                )
                quarantined += 1
        counts["quarantined_batches"] = quarantined
        conn.execute(
            insert(s.erasures).values(
                at=now,
                actor=actor,
                reason=reason,
                author_ref=author_ref(platform or "*", author_id),
                rows_removed=json.loads(json.dumps(counts)),
            )
        )
    return counts
