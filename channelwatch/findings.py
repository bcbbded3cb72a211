"""Findings in the warehouse: their lifecycle, what the system does, what people decide.

A finding is one rule firing on one item, identified by ``finding_id`` = a digest of
(platform, item_id, rule): re-running the checks never duplicates it. Its status is one of

    new           first detected today (the council-local day of detection)
    open          still active on a later day: carried over
    acknowledged  a person has seen it and is dealing with it
    resolved      dealt with: by a person, or automatically by channelwatch
    dismissed     a person decided it is not a problem (a reason is required)

and every change is a row in ``finding_events`` saying who (a person, or "channelwatch"),
when, what (``action``), from which status to which, and why.

What the system does, in `sync_findings` (called by the pipeline after each check run):

1. A finding that fires for the first time is inserted as **new** (event ``detected``).
2. A finding that fires again keeps its status; its evidence, severity, route and due time
   are refreshed. Its ``detected_at`` stays the first detection.
3. A **new** finding first detected on an earlier council-local day than ``now`` becomes
   **open** (event ``opened``, "carried over"): "new" always means "new since yesterday".
4. An active finding (new, open or acknowledged) on an item the checks evaluated this time
   (``scope``) whose rule no longer fires is **resolved** by channelwatch (event
   ``resolved``), e.g. an unanswered item once the council has replied, a post edited to
   remove the problem. Safeguarding concerns are the exception: only a person (the
   safeguarding lead) closes them.
5. An active finding whose item has been deleted on the platform is **resolved** with the
   reason "item deleted" — except safeguarding concerns and FOI requests, which stand
   after deletion (the risk, or the statutory duty to answer, remains): they stay active
   and get one ``noted`` event saying the item was deleted.
6. A **resolved** or **dismissed** finding that fires again is reopened (to **open**, event
   ``reopened``) only when the system could be wrong to keep it closed:

   * it was closed by channelwatch itself (automatic resolution), or
   * a person closed it and the item has been edited since their decision.

   A person's decision on an unchanged item is never overridden, however often the rule
   fires again; acknowledged findings are never changed by the system except by (4)/(5).
7. A sync never moves a finding back in time: a finding changed after ``now`` (by the check
   run of a later day, or by a person) is left exactly as it is, and (5) only counts items
   deleted by ``now``. Backfilling a past day therefore adds what only that day shows and
   reopens, resolves or rewrites nothing that a later run or a person already decided.

What people do, with `transition` (the `channelwatch findings` command): ``acknowledge``
(new/open →), ``resolve`` (new/open/acknowledged →), ``dismiss`` (same, reason required),
``reopen`` (resolved/dismissed → open). Any other move is refused with a one-line
`UserError`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Connection,
    Engine,
    and_,
    bindparam,
    case,
    func,
    insert,
    or_,
    select,
    update,
)

from channelwatch.warehouse.locks import xact_lock
from channelwatch.warehouse.schema import finding_events, findings, item_versions, items
from kernel.errors import UserError
from kernel.items import parse_timestamp

__all__ = [
    "STATUSES",
    "ACTIVE",
    "CLOSED",
    "CATEGORIES",
    "SYSTEM_ACTOR",
    "ACTIONS",
    "SyncResult",
    "finding_id",
    "sync_findings",
    "transition",
    "list_findings",
    "get_finding",
    "status_as_of",
    "record_event",
    "local_day_bounds",
]

from kernel.vocabulary import ACTIVE, CATEGORIES, CLOSED, SEVERITIES, STATUSES  # noqa: E402

SYSTEM_ACTOR = "channelwatch"

# Categories the system never closes on its own (rule 4), and those that stand after the
# item is deleted (rule 5).
NEVER_AUTO_RESOLVED = frozenset({"safeguarding"})
STANDS_AFTER_DELETION = frozenset({"safeguarding", "foi_request"})

# A person's action: (event action, new status, statuses it may start from).
ACTIONS: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "acknowledge": ("acknowledged", "acknowledged", ("new", "open")),
    "resolve": ("resolved", "resolved", ACTIVE),
    "dismiss": ("dismissed", "dismissed", ACTIVE),
    "reopen": ("reopened", "open", CLOSED),
}
ALIASES = {"ack": "acknowledge"}
CHUNK = 500


def finding_id(platform: str, item_id: str, rule: str) -> str:
    """The stable id of a finding: a 40-hex-digit SHA-1 of platform, item id and rule."""
    blob = "\x1f".join((platform, item_id, rule)).encode("utf-8", "surrogatepass")
    return hashlib.sha1(blob, usedforsecurity=False).hexdigest()


@dataclasses.dataclass(slots=True)
class SyncResult:
    """What one `sync_findings` call changed (counts), and the ids of new findings."""

    detected: int = 0
    refreshed: int = 0
    unchanged: int = 0
    opened: int = 0
    resolved: int = 0
    reopened: int = 0
    noted: int = 0
    new_ids: list[str] = dataclasses.field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "new_ids"
        }


@dataclasses.dataclass(frozen=True, slots=True)
class _Incoming:
    finding_id: str
    platform: str
    item_id: str
    rule: str
    category: str
    severity: str
    route: str
    evidence: str
    evidence_start: int | None
    evidence_end: int | None
    due_at: datetime | None
    detected_at: datetime | None


def _field(source: Any, name: str, default: Any = None) -> Any:
    if isinstance(source, Mapping):
        return source.get(name, default)
    return getattr(source, name, default)


def _aware(value: Any, name: str) -> datetime | None:
    if value in (None, ""):
        return None
    return parse_timestamp(value, name)


def _incoming(source: Any) -> _Incoming:
    """Normalise a checks.Finding (or its to_dict(with_span=True) form)."""
    platform, item_id, rule = (
        str(_field(source, k) or "") for k in ("platform", "item_id", "rule")
    )
    if not (platform and item_id and rule):
        raise ValueError("a finding needs platform, item_id and rule")
    category = str(_field(source, "category") or rule.split(".", 1)[0])
    severity = str(_field(source, "severity") or "medium")
    if severity not in SEVERITIES:
        raise ValueError(
            f"finding {rule} on {platform}/{item_id}: severity {severity!r} "
            f"is not one of {', '.join(SEVERITIES)}"
        )
    span = _field(source, "evidence_span")
    start = end = None
    if span is not None and len(span) == 2 and span[0] is not None and span[1] is not None:
        start, end = int(span[0]), int(span[1])
        if not 0 <= start < end:
            start = end = None
    return _Incoming(
        finding_id=finding_id(platform, item_id, rule),
        platform=platform,
        item_id=item_id,
        rule=rule,
        category=category,
        severity=severity,
        route=str(_field(source, "route") or "comms"),
        evidence=str(_field(source, "evidence") or ""),
        evidence_start=start,
        evidence_end=end,
        due_at=_aware(_field(source, "due_at"), "due_at"),
        detected_at=_aware(_field(source, "detected_at"), "detected_at"),
    )


def _scope_keys(scope: Iterable[Any] | None) -> set[tuple[str, str]] | None:
    if scope is None:
        return None
    keys: set[tuple[str, str]] = set()
    for entry in scope:
        if isinstance(entry, tuple):
            keys.add((str(entry[0]), str(entry[1])))
        else:  # a canonical Item
            keys.add((entry.platform, entry.id))
    return keys


@contextmanager
def _begin(conn_or_engine: Connection | Engine) -> Iterator[Connection]:
    """A transaction on an engine; on a connection, the caller owns the transaction."""
    if isinstance(conn_or_engine, Engine):
        with conn_or_engine.begin() as conn:
            yield conn
    else:
        yield conn_or_engine


def record_event(
    conn: Connection,
    fid: str,
    *,
    at: datetime,
    actor: str,
    action: str,
    from_status: str | None,
    to_status: str,
    reason: str = "",
) -> None:
    """Append one finding event (no status change by itself)."""
    conn.execute(
        insert(finding_events).values(
            finding_id=fid,
            at=at,
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            reason=reason,
        )
    )


def _set_status(
    conn: Connection,
    rows: Sequence[tuple[str, str]],
    to_status: str,
    *,
    now: datetime,
    actor: str,
    action: str,
    reason: str | Mapping[str, str],
) -> int:
    """Move findings [(finding_id, from_status)] to `to_status` with one event each."""
    if not rows:
        return 0
    conn.execute(
        update(findings)
        .where(findings.c.finding_id == bindparam("b_id"))
        .values(status=to_status, status_changed_at=now, updated_at=now),
        [{"b_id": fid} for fid, _ in rows],
    )
    conn.execute(
        insert(finding_events),
        [
            {
                "finding_id": fid,
                "at": now,
                "actor": actor,
                "action": action,
                "from_status": old,
                "to_status": to_status,
                "reason": reason[fid] if isinstance(reason, Mapping) else reason,
            }
            for fid, old in rows
        ],
    )
    return len(rows)


def local_day_bounds(day: date, tz: str | ZoneInfo) -> tuple[datetime, datetime]:
    """The UTC instants at which a council-local day starts and ends."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    start = datetime.combine(day, time(0), zone).astimezone(timezone.utc)
    end = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(timezone.utc)
    return start, end


def _auto_resolve_reason(category: str) -> str:
    if category == "unanswered":
        return (
            "no longer unanswered: the council replied in the thread, or the item no "
            "longer needs a reply"
        )
    return "no longer detected: the item was edited, or the rule no longer applies to it"


def sync_findings(
    conn_or_engine: Connection | Engine,
    found: Iterable[Any],
    *,
    now: datetime,
    scope: Iterable[Any] | None = None,
    tz: str | ZoneInfo = "Europe/London",
) -> SyncResult:
    """Store one check run's findings and move the lifecycle on (see the module docstring).

    Args:
        conn_or_engine: the warehouse; an engine gets its own transaction, a connection is
            used inside the caller's.
        found: what the checks returned — `checks.Finding` objects, or their
            ``to_dict(with_span=True)`` form. Duplicates of (platform, item, rule): the
            last wins.
        now: aware time of this sync (event times; "new" vs "carried over").
        scope: the items the checks evaluated in this run — canonical `Item` objects or
            (platform, item_id) pairs. Active findings on these items whose rule did not
            fire are resolved automatically. None: resolve nothing this way (a partial run).
        tz: the council's time zone, for "an earlier day" in rule 3.

    Returns:
        A `SyncResult` with counts and the ids of the findings inserted as new.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    incoming: dict[str, _Incoming] = {}
    for source in found:
        f = _incoming(source)
        incoming[f.finding_id] = f
    scope_keys = _scope_keys(scope)
    result = SyncResult()
    with _begin(conn_or_engine) as conn:
        xact_lock(conn, "findings")  # two runs at once: one sync after the other
        _upsert(conn, incoming, now, result)
        if scope_keys is not None:
            _resolve_not_firing(conn, incoming, scope_keys, now, result)
        _handle_deleted(conn, now, result)
        _carry_over(conn, now, tz, result)  # only what is still new after the above
    return result


def _upsert(
    conn: Connection, incoming: dict[str, _Incoming], now: datetime, result: SyncResult
) -> None:
    ids = list(incoming)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        existing = {
            row.finding_id: row
            for row in conn.execute(select(findings).where(findings.c.finding_id.in_(chunk)))
        }
        new_rows, new_events, refresh, closed_again = [], [], [], []
        for fid in chunk:
            f = incoming[fid]
            row = existing.get(fid)
            if row is not None and row.updated_at > now:  # rule 7: a later run decided
                result.unchanged += 1
                continue
            values = {
                "severity": f.severity,
                "route": f.route,
                "evidence": f.evidence,
                "evidence_start": f.evidence_start,
                "evidence_end": f.evidence_end,
                "due_at": f.due_at,
                "category": f.category,
            }
            if row is None:
                new_rows.append(
                    {
                        "finding_id": fid,
                        "platform": f.platform,
                        "item_id": f.item_id,
                        "rule": f.rule,
                        **values,
                        "detected_at": f.detected_at or now,
                        "status": "new",
                        "status_changed_at": now,
                        "updated_at": now,
                    }
                )
                new_events.append(
                    {
                        "finding_id": fid,
                        "at": now,
                        "actor": SYSTEM_ACTOR,
                        "action": "detected",
                        "from_status": None,
                        "to_status": "new",
                        "reason": f.evidence,
                    }
                )
                result.new_ids.append(fid)
                continue
            if any(getattr(row, k) != v for k, v in values.items()):
                refresh.append({"b_id": fid, **{f"b_{k}": v for k, v in values.items()}})
            else:
                result.unchanged += 1
            if row.status in CLOSED:
                closed_again.append(row)
        if new_rows:
            conn.execute(insert(findings), new_rows)
            conn.execute(insert(finding_events), new_events)
            result.detected += len(new_rows)
        if refresh:
            conn.execute(
                update(findings)
                .where(findings.c.finding_id == bindparam("b_id"))
                .values(
                    updated_at=now,
                    **{
                        k: bindparam(f"b_{k}")
                        for k in (
                            "severity",
                            "route",
                            "evidence",
                            "evidence_start",
                            "evidence_end",
                            "due_at",
                            "category",
                        )
                    },
                ),
                refresh,
            )
            result.refreshed += len(refresh)
        if closed_again:
            _maybe_reopen(conn, closed_again, now, result)


def _maybe_reopen(conn: Connection, rows: list, now: datetime, result: SyncResult) -> None:
    """Rule 6: reopen closed findings that fire again when the system may be wrong."""
    ids = [r.finding_id for r in rows]
    last_closer: dict[str, tuple[str, str]] = {}
    latest = (
        select(
            finding_events.c.finding_id,
            finding_events.c.actor,
            finding_events.c.to_status,
            func.row_number()
            .over(
                partition_by=finding_events.c.finding_id,
                order_by=(finding_events.c.at.desc(), finding_events.c.event_id.desc()),
            )
            .label("rn"),
        )
        .where(
            finding_events.c.finding_id.in_(ids),
            finding_events.c.action.in_(("resolved", "dismissed")),
        )
        .subquery()
    )
    for fid, actor, to_status, _ in conn.execute(select(latest).where(latest.c.rn == 1)):
        last_closer[fid] = (actor, to_status)
    keys = [(r.platform, r.item_id) for r in rows]
    edited: dict[tuple[str, str], datetime] = {}
    gone: set[tuple[str, str]] = set()
    for platform, item_id, observed, deleted_at in conn.execute(
        select(
            items.c.platform,
            items.c.item_id,
            select(func.max(item_versions.c.observed_at))
            .where(
                item_versions.c.platform == items.c.platform,
                item_versions.c.item_id == items.c.item_id,
                item_versions.c.version > 1,
            )
            .scalar_subquery(),
            items.c.deleted_at,
        ).where(
            items.c.platform.in_(sorted({k[0] for k in keys})),
            items.c.item_id.in_(sorted({k[1] for k in keys})),
        )
    ):
        if observed is not None:
            edited[(platform, item_id)] = observed
        if deleted_at is not None:
            gone.add((platform, item_id))
    reopen, reasons = [], {}
    for row in rows:
        key = (row.platform, row.item_id)
        if key in gone:
            continue
        actor, closed_as = last_closer.get(row.finding_id, (SYSTEM_ACTOR, row.status))
        if actor == SYSTEM_ACTOR:
            reasons[row.finding_id] = "the rule fires again after it was closed automatically"
        elif key in edited and edited[key] > row.status_changed_at:
            reasons[row.finding_id] = (
                f"the item was edited after {actor} marked it {closed_as}, and the rule still fires"
            )
        else:
            continue
        reopen.append((row.finding_id, row.status))
    result.reopened += _set_status(
        conn, reopen, "open", now=now, actor=SYSTEM_ACTOR, action="reopened", reason=reasons
    )


def _carry_over(conn: Connection, now: datetime, tz: str | ZoneInfo, result: SyncResult) -> None:
    """Rule 3: new findings from an earlier local day become open."""
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    today = now.astimezone(zone).date()
    today_start, _ = local_day_bounds(today, zone)
    rows = conn.execute(
        select(findings.c.finding_id, findings.c.detected_at).where(
            findings.c.status == "new",
            findings.c.detected_at < today_start,
            findings.c.updated_at <= now,
        )
    ).all()
    if not rows:
        return
    reason = f"carried over: still active on {today.isoformat()}"
    result.opened += _set_status(
        conn,
        [(fid, "new") for fid, _ in rows],
        "open",
        now=now,
        actor=SYSTEM_ACTOR,
        action="opened",
        reason=reason,
    )


def _resolve_not_firing(
    conn: Connection,
    incoming: dict[str, _Incoming],
    scope: set[tuple[str, str]],
    now: datetime,
    result: SyncResult,
) -> None:
    """Rule 4: active findings on evaluated items whose rule did not fire are resolved."""
    if not scope:
        return
    todo, reasons = [], {}
    for fid, platform, item_id, category, status in conn.execute(
        select(
            findings.c.finding_id,
            findings.c.platform,
            findings.c.item_id,
            findings.c.category,
            findings.c.status,
        ).where(findings.c.status.in_(ACTIVE), findings.c.updated_at <= now)
    ):
        if fid in incoming or (platform, item_id) not in scope:
            continue
        if category in NEVER_AUTO_RESOLVED:
            continue
        todo.append((fid, status))
        reasons[fid] = _auto_resolve_reason(category)
    result.resolved += _set_status(
        conn, todo, "resolved", now=now, actor=SYSTEM_ACTOR, action="resolved", reason=reasons
    )


def _handle_deleted(conn: Connection, now: datetime, result: SyncResult) -> None:
    """Rule 5: findings on deleted items are resolved, or noted once where they stand."""
    rows = conn.execute(
        select(findings.c.finding_id, findings.c.category, findings.c.status)
        .join(
            items,
            and_(items.c.platform == findings.c.platform, items.c.item_id == findings.c.item_id),
        )
        .where(
            findings.c.status.in_(ACTIVE), findings.c.updated_at <= now, items.c.deleted_at <= now
        )
    ).all()
    if not rows:
        return
    resolve = [
        (fid, status) for fid, category, status in rows if category not in STANDS_AFTER_DELETION
    ]
    result.resolved += _set_status(
        conn,
        resolve,
        "resolved",
        now=now,
        actor=SYSTEM_ACTOR,
        action="resolved",
        reason="item deleted",
    )
    standing = [
        (fid, category, status)
        for fid, category, status in rows
        if category in STANDS_AFTER_DELETION
    ]
    if standing:
        already = {
            fid
            for (fid,) in conn.execute(
                select(finding_events.c.finding_id).where(
                    finding_events.c.finding_id.in_([s[0] for s in standing]),
                    finding_events.c.action == "noted",
                    finding_events.c.reason.like("item deleted%"),
                )
            )
        }
        for fid, category, status in standing:
            if fid in already:
                continue
            what = "the safeguarding concern" if category == "safeguarding" else "the FOI request"
            record_event(
                conn,
                fid,
                at=now,
                actor=SYSTEM_ACTOR,
                action="noted",
                from_status=status,
                to_status=status,
                reason=f"item deleted on the platform; {what} stands until a person closes it",
            )
            result.noted += 1


# --- people's actions ------------------------------------------------------------------


def _resolve_id(conn: Connection, ref: str) -> Any:
    """The finding row for a full id or a unique prefix of at least 6 characters."""
    ref = ref.strip().lower()
    if not ref:
        raise UserError("a finding id is required")
    row = conn.execute(select(findings).where(findings.c.finding_id == ref)).first()
    if row is not None:
        return row
    if len(ref) >= 6 and all(c in "0123456789abcdef" for c in ref):
        rows = conn.execute(
            select(findings).where(findings.c.finding_id.like(ref + "%")).limit(2)
        ).all()
        if len(rows) == 1:
            return rows[0]
        if len(rows) > 1:
            raise UserError(f"finding id {ref!r} is ambiguous; give more characters")
    raise UserError(f"no finding with id {ref!r}")


def transition(
    conn_or_engine: Connection | Engine,
    fid: str,
    action: str,
    actor: str,
    reason: str = "",
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A person acknowledges, resolves, dismisses or reopens a finding.

    Args:
        conn_or_engine: the warehouse.
        fid: the finding id, or a unique prefix of it (at least 6 characters).
        action: acknowledge (or ack), resolve, dismiss, reopen.
        actor: who is doing it (recorded in the event).
        reason: why; required to dismiss.
        now: the time of the event (default: now).

    Returns:
        The finding as `get_finding` returns it, after the change.

    Raises:
        UserError: unknown id or action, an illegal move, a missing actor or reason.
    """
    action = ALIASES.get(action, action)
    if action not in ACTIONS:
        raise UserError(f"unknown action {action!r}; use one of {', '.join(ACTIONS)}")
    event, to_status, allowed = ACTIONS[action]
    actor = (actor or "").strip()
    if not actor:
        raise UserError("who is doing this? give --by PERSON")
    reason = (reason or "").strip()
    if action == "dismiss" and not reason:
        raise UserError("dismissing a finding needs a reason: give --reason TEXT")
    now = now or datetime.now(timezone.utc)
    with _begin(conn_or_engine) as conn:
        row = _resolve_id(conn, fid)
        if row.status == to_status:
            raise UserError(f"finding {row.finding_id[:12]} is already {row.status}")
        if row.status not in allowed:
            raise UserError(
                f"finding {row.finding_id[:12]} is {row.status}; only a "
                f"{' or '.join(allowed)} finding can be {to_status if action != 'reopen' else 'reopened'}"
            )
        _set_status(
            conn,
            [(row.finding_id, row.status)],
            to_status,
            now=now,
            actor=actor,
            action=event,
            reason=reason,
        )
        return get_finding(conn, row.finding_id)


# --- reading ---------------------------------------------------------------------------

SEVERITY_RANK = case({"high": 0, "medium": 1, "low": 2}, value=findings.c.severity, else_=3)
CATEGORY_RANK = case(
    {c: i for i, c in enumerate(CATEGORIES)}, value=findings.c.category, else_=len(CATEGORIES)
)


def status_as_of(at: datetime):
    """A correlated scalar subquery: each finding's status at instant `at` (from its events).

    None when the finding had not been detected yet. Use it to render a past day exactly as
    it stood; for the present, ``findings.status`` is the same thing.
    """
    return (
        select(finding_events.c.to_status)
        .where(finding_events.c.finding_id == findings.c.finding_id, finding_events.c.at <= at)
        .order_by(finding_events.c.at.desc(), finding_events.c.event_id.desc())
        .limit(1)
        .correlate(findings)
        .scalar_subquery()
    )


def _row_dict(row) -> dict[str, Any]:
    return dict(row._mapping)


def _listing_query():
    return select(
        findings,
        items.c.account_id,
        items.c.kind,
        items.c.author_name,
        items.c.is_own,
        items.c.created_at.label("item_created_at"),
        items.c.text.label("item_text"),
        items.c.url.label("item_url"),
        items.c.deleted_at.label("item_deleted_at"),
    ).select_from(
        findings.outerjoin(
            items,
            and_(items.c.platform == findings.c.platform, items.c.item_id == findings.c.item_id),
        )
    )


def list_findings(
    conn_or_engine: Connection | Engine,
    *,
    statuses: Sequence[str] | None = ACTIVE,
    categories: Sequence[str] | None = None,
    channels: Sequence[str] | None = None,
    rules: Sequence[str] | None = None,
    severities: Sequence[str] | None = None,
    routes: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    overdue_at: datetime | None = None,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Findings with their item (text, link, account), most urgent first.

    Args:
        statuses: keep these statuses (default: the active ones); None for all.
        categories: keep these categories.
        channels: keep findings whose platform or account id is one of these.
        rules: keep rules equal to, or under, one of these (``off_brand`` keeps
            ``off_brand.political``).
        severities, routes: keep these.
        since, until: detected at or after `since` and before `until` (aware instants).
        overdue_at: keep only findings due before this instant.
        limit: at most this many.

    Returns:
        One dict per finding: the findings columns plus account_id, kind, author_name,
        is_own, item_created_at, item_text, item_url, item_deleted_at.
    """
    query = _listing_query()
    if statuses:
        query = query.where(findings.c.status.in_(list(statuses)))
    if categories:
        query = query.where(findings.c.category.in_(list(categories)))
    if channels:
        query = query.where(
            or_(findings.c.platform.in_(list(channels)), items.c.account_id.in_(list(channels)))
        )
    if rules:
        query = query.where(
            or_(*[or_(findings.c.rule == r, findings.c.rule.startswith(r + ".")) for r in rules])
        )
    if severities:
        query = query.where(findings.c.severity.in_(list(severities)))
    if routes:
        query = query.where(findings.c.route.in_(list(routes)))
    if since is not None:
        query = query.where(findings.c.detected_at >= since)
    if until is not None:
        query = query.where(findings.c.detected_at < until)
    if overdue_at is not None:
        query = query.where(findings.c.due_at < overdue_at)
    query = query.order_by(
        CATEGORY_RANK,
        SEVERITY_RANK,
        case((findings.c.due_at.is_(None), 1), else_=0),
        findings.c.due_at,
        findings.c.detected_at,
        findings.c.finding_id,
    )
    if limit is not None:
        query = query.limit(limit)
    with _begin(conn_or_engine) as conn:
        return [_row_dict(r) for r in conn.execute(query)]


def get_finding(conn_or_engine: Connection | Engine, fid: str) -> dict[str, Any]:
    """One finding (full id or unique prefix) with its item and its events, oldest first.

    Raises:
        UserError: no such finding, or an ambiguous prefix.
    """
    with _begin(conn_or_engine) as conn:
        row = _resolve_id(conn, fid)
        full = conn.execute(_listing_query().where(findings.c.finding_id == row.finding_id)).one()
        out = _row_dict(full)
        out["events"] = [
            dict(e._mapping)
            for e in conn.execute(
                select(finding_events)
                .where(finding_events.c.finding_id == row.finding_id)
                .order_by(finding_events.c.at, finding_events.c.event_id)
            )
        ]
        return out
