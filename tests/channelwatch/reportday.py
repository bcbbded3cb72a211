"""A realistic report day for the report, findings and delivery tests.

Synthetic threads from sandbox.scenario become canonical items; each evening
of a run of days the items published so far are loaded and "checked", and the findings are
synced exactly as the pipeline does. The checks here are the scenario's own labels (what
the generator meant each message to be), so the tests do not depend on the checks
package's tuning; `real_checks=True` uses checks.run_checks instead.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from channelwatch.findings import sync_findings
from channelwatch.warehouse import derive, load
from channelwatch.warehouse.schema import items as items_t
from checks import Finding  # re-exported: the report tests build findings from here
from connectors.base import FetchResult
from kernel.businesstime import add_business_hours, add_working_days
from kernel.items import Item
from sandbox.scenario import Thread, generate_threads

LONDON = ZoneInfo("Europe/London")

# label → (rule, severity, route, word to quote as evidence)
PUBLIC_RULES = {
    "foi": ("foi_request.received", "medium", "information_compliance", None),
    "safeguarding": ("safeguarding.concern", "high", "safeguarding_lead", None),
    "abuse": ("moderation.abuse", "high", "comms", None),
    "personal_data_public": ("moderation.personal_data", "medium", "comms", "07700 900456"),
    "spam": ("third_party_advertising.comment_spam", "low", "comms", None),
}
OWN_RULES = {
    "advertising": ("third_party_advertising.sponsored_post", "high", "comms", None),
    "political": ("off_brand.political", "medium", "comms", "Vote"),
    "personal_data": ("off_brand.personal_data", "high", "comms", "07700 900123"),
    "profanity": ("off_brand.profanity", "medium", "comms", "bloody"),
}
NEEDS_REPLY = {
    "question",
    "complaint",
    "problem",
    "request",
    "foi",
    "safeguarding",
    "personal_data_public",
}


def thread_items(threads: list[Thread], at: datetime) -> list[Item]:
    """The items visible at `at` (edits applied, deleted ones left out)."""
    out = []
    for t in threads:
        for m in t.messages():
            if m.created_at > at or (m.deleted_at is not None and m.deleted_at <= at):
                continue
            text = m.text
            for e in m.edits:
                if e.at <= at:
                    text = e.text
            kind = t.kind if m is t.root else "comment"
            out.append(
                Item(
                    t.platform,
                    m.key,
                    kind,
                    t.account_id,
                    m.author_id,
                    m.author_name,
                    m.is_own,
                    m.parent,
                    t.root.key,
                    m.created_at,
                    text,
                    f"https://{t.platform}.example/{m.key}",
                    dict(m.flags),
                )
            )
    return out


def labelled_findings(
    threads: list[Thread], items_now: list[Item], as_of: datetime, settings
) -> list[Finding]:
    """What the checks would find, from the scenario's labels."""
    bh = settings.business_hours
    target = bh.response_target_hours
    visible = {i.id: i for i in items_now}
    labels = {m.key: m.label for t in threads for m in t.messages()}
    own_times: dict[str, list[datetime]] = {}
    for i in items_now:
        if i.is_own:
            own_times.setdefault(i.root_id, []).append(i.created_at)
    out = []
    for item in items_now:
        label = labels.get(item.id, "")
        rules = OWN_RULES if item.is_own else PUBLIC_RULES
        if label in rules:
            rule, severity, route, word = rules[label]
            span = None
            if word and word in item.text:
                start = item.text.index(word)
                span = (start, start + len(word))
            elif not word:
                span = (0, min(len(item.text), 40))
            quoted = item.text[span[0] : span[1]] if span else ""
            due = None
            if rule.startswith("foi_request"):
                due = add_working_days(item.created_at, 20, bh)
            elif rule.startswith("safeguarding"):
                due = item.created_at
            else:
                due = add_business_hours(item.created_at, 4 if severity == "high" else 8, bh)
            out.append(
                Finding(
                    item.id,
                    item.platform,
                    rule.split(".")[0],
                    rule,
                    severity,
                    f'matched "{quoted}"',
                    route,
                    due,
                    as_of,
                    span,
                )
            )
        if not item.is_own and label in NEEDS_REPLY:
            due = add_business_hours(item.created_at, target, bh)
            replied = any(t > item.created_at for t in own_times.get(item.root_id, []))
            if not replied and due < as_of:
                out.append(
                    Finding(
                        item.id,
                        item.platform,
                        "unanswered",
                        "unanswered.sla_breach",
                        "medium",
                        f"no reply from the council within {target:g} business hours",
                        "comms",
                        due,
                        as_of,
                        None,
                    )
                )
    del visible
    return out


def build_days(
    engine,
    settings,
    *,
    end_day: date,
    days: int = 8,
    per_day: int = 12,
    seed: int = 7,
    real_checks: bool = False,
    extra_items=(),
) -> dict:
    """Load `days` days of scenario data day by day, syncing findings each evening at 18:00.

    Returns {"threads", "items" (visible at the end), "now" (the last sync time)}.
    """
    end_at = datetime.combine(end_day, time(17, 30), LONDON).astimezone(timezone.utc)
    threads = generate_threads(days, per_day, seed=seed, end=end_at)
    first = end_day - timedelta(days=days - 1)
    now = end_at
    visible: list[Item] = []
    for n in range(days):
        day = first + timedelta(days=n)
        now = datetime.combine(day, time(18, 0), LONDON).astimezone(timezone.utc)
        visible = thread_items(threads, now) + [i for i in extra_items if i.created_at <= now]
        with engine.begin() as conn:
            load.sync_accounts(conn, settings, now)
            stored = conn.execute(
                select(items_t.c.platform, items_t.c.item_id).where(items_t.c.deleted_at.is_(None))
            ).all()
            seen = {i.key for i in visible}
            for platform, account in settings.accounts.all():
                mine = [i for i in visible if i.platform == platform]
                run_id = load.start_run(conn, platform, account.id, now=now)
                stats = load.load_items(conn, run_id, mine, now)
                # Items gone from the API are marked deleted, as the connectors' scopes do.
                gone = [k for k in stored if k[0] == platform and (k[0], k[1]) not in seen]
                for _, item_id in gone:
                    conn.execute(
                        update(items_t)
                        .where(items_t.c.platform == platform, items_t.c.item_id == item_id)
                        .values(deleted_at=now)
                    )
                stats.deleted = len(gone)
                result = FetchResult(
                    api_calls={f"{platform}.posts": 3 + len(mine) // 25},
                    quota_units={f"{platform}.posts": 3 + len(mine) // 25},
                )
                load.finish_run(conn, run_id, "success", stats, result, now=now)
        if real_checks:
            import checks

            found = checks.run_checks(visible, settings, now)
        else:
            found = labelled_findings(threads, visible, now, settings)
        sync_findings(engine, found, now=now, scope=visible, tz=settings.business_hours.timezone)
    derive.refresh_business_calendar(settings, engine, end_day)
    derive.refresh_item_responses(settings, engine, now)
    return {"threads": threads, "items": visible, "now": now}
