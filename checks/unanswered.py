"""Unanswered public items and the responsiveness figures.

Policy: "Be responsive. Respond to communication and share the insight you gain."

- unanswered.sla_breach (medium, comms): a public item that needs a reply — a question,
  complaint, request or report of a problem; not thanks, praise, an emoji or a friend
  tagged — with no reply from the council account anywhere later in its thread by the
  response target (business_hours.response_target_hours, counted in business hours).
  due_at = created_at + target in business hours; the finding exists only once as-of is
  past due_at and the council has still not replied.
- `responsiveness`: per channel (platform, account) reply rate and first-response times.
"""

from __future__ import annotations

import bisect
import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from checks.context import Context, Doc, describe
from checks.finding import Finding
from kernel.businesstime import business_hours_between

SLA_BREACH = "unanswered.sla_breach"

_CUES = (
    ("needs_reply.complaint", "complaint"),
    ("needs_reply.problem", "problem report"),
    ("needs_reply.request", "request"),
)


def needs_reply(doc: Doc, ctx: Context) -> tuple[str, tuple[str, ...] | None] | None:
    """Why a public item needs a reply — (reason, matched phrase) — or None when it does not.

    Args:
        doc: the analysed item (own items never need a reply).
        ctx: the run's context.
    """
    item = doc.item
    toks = doc.toks
    if item.is_own or not toks:
        return None  # nothing but emoji or punctuation
    first = 0
    if toks[0][:1] == "@":
        while first < len(toks) and toks[first][:1] == "@":
            first += 1
        if first == len(toks):
            return None  # only people tagged
    hits = doc.reply_hits(ctx)
    if hits:
        for name, reason in _CUES:
            found = hits.get(name)
            if found:
                start, phrase = min(found)
                return reason, phrase
    question = b"?" in doc.sig or (len(toks) - first >= 3 and toks[first] in ctx.question_starts)
    if not question:
        return None
    # "@friend did you see this?" on a comment is a conversation between residents.
    if first and item.kind == "comment" and toks[0][1:] not in ctx.council_handles:
        return None
    return "question", None


def _threads(docs: Iterable[Doc]) -> dict[tuple[str, str], list[datetime]]:
    own: dict[tuple[str, str], list[datetime]] = defaultdict(list)
    for doc in docs:
        item = doc.item
        if item.is_own:
            own[(item.platform, item.root_id)].append(item.created_at)
    for times in own.values():
        times.sort()
    return own


def _first_reply(
    times: Sequence[datetime] | None, after: datetime, by: datetime
) -> datetime | None:
    if not times:
        return None
    i = bisect.bisect_right(times, after)
    if i < len(times) and times[i] <= by:
        return times[i]
    return None


def _due(item_created: datetime, ctx: Context) -> datetime:
    return ctx.cal.add_hours_utc(
        item_created.astimezone(UTC), ctx.settings.business_hours.response_target_hours
    )


def sla_breach(
    doc: Doc, ctx: Context, threads: dict[tuple[str, str], list[datetime]]
) -> Finding | None:
    """unanswered.sla_breach for one item, given the council's reply times per thread."""
    item = doc.item
    created = item.created_at
    if item.is_own or created > ctx.as_of:
        return None
    times = threads.get((item.platform, item.root_id))
    if times and times[-1] > created and _first_reply(times, created, ctx.as_of):
        return None  # answered (the cheapest test first: most threads are)
    why = needs_reply(doc, ctx)
    if why is None:
        return None
    due = _due(created, ctx)
    if ctx.as_of < due:
        return None
    waited = ctx.hours_to_as_of(created)
    target = ctx.settings.business_hours.response_target_hours
    reason, phrase = why
    span = None
    if phrase:
        q, span = ctx.quote(doc, phrase)
        what = f"{reason} {describe(q)}"
    else:
        what = f"{reason} {describe(item.text)}"
    return ctx.finding(
        doc,
        SLA_BREACH,
        "medium",
        f"{what}: no council reply after {waited:.1f} business hours (target {target:g})",
        due_at=due,
        span=span,
    )


@dataclass(frozen=True, slots=True)
class Awaiting:
    """A public item that needs a reply, has none yet and is not yet overdue."""

    item_id: str
    platform: str
    account: str
    reason: str
    due_at: datetime


def awaiting(docs: Sequence[Doc], ctx: Context) -> list[Awaiting]:
    """Items needing a reply whose target has not yet passed (no finding yet)."""
    threads = _threads(docs)
    out = []
    for doc in docs:
        item = doc.item
        if item.is_own or item.created_at > ctx.as_of:
            continue
        why = needs_reply(doc, ctx)
        if why is None:
            continue
        due = _due(item.created_at, ctx)
        if ctx.as_of >= due or _first_reply(
            threads.get((item.platform, item.root_id)), item.created_at, ctx.as_of
        ):
            continue
        out.append(Awaiting(item.id, item.platform, item.account, why[0], due))
    out.sort(key=lambda a: a.due_at)
    return out


@dataclass(frozen=True, slots=True)
class ChannelResponsiveness:
    """How well one channel answered the public, as of a time.

    Attributes:
        platform, account: the channel.
        needing_reply: public items (created by as-of) that needed a reply.
        replied: of those, answered by the council in the thread by as-of.
        replied_within_target: answered within the response target.
        overdue: unanswered and past the target.
        awaiting: unanswered but not yet due.
        reply_rate: replied / needing_reply (None when nothing needed a reply).
        within_target_rate: replied_within_target / needing_reply (None likewise).
        median_first_response_hours, p90_first_response_hours: business hours from the
            item to the council's first later reply in its thread (replied items only;
            p90 by the nearest-rank method), None when nothing was replied to.
        target_hours: the response target in business hours.
    """

    platform: str
    account: str
    needing_reply: int
    replied: int
    replied_within_target: int
    overdue: int
    awaiting: int
    reply_rate: float | None
    within_target_rate: float | None
    median_first_response_hours: float | None
    p90_first_response_hours: float | None
    target_hours: float

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def responsiveness(docs: Sequence[Doc], ctx: Context) -> list[ChannelResponsiveness]:
    """Per-channel reply figures (see `ChannelResponsiveness`), sorted by platform, account."""
    threads = _threads(docs)
    target = ctx.settings.business_hours.response_target_hours
    stats: dict[tuple[str, str], dict[str, list[float] | int]] = {}
    for doc in docs:
        item = doc.item
        key = (item.platform, item.account)
        row = stats.setdefault(key, {"n": 0, "late": 0, "open": 0, "times": []})
        if item.is_own or item.created_at > ctx.as_of or needs_reply(doc, ctx) is None:
            continue
        row["n"] += 1  # type: ignore[operator]
        reply = _first_reply(threads.get((item.platform, item.root_id)), item.created_at, ctx.as_of)
        if reply is None:
            if ctx.as_of >= _due(item.created_at, ctx):
                row["late"] += 1  # type: ignore[operator]
            else:
                row["open"] += 1  # type: ignore[operator]
            continue
        row["times"].append(business_hours_between(item.created_at, reply, ctx.cal))  # type: ignore[union-attr]
    out = []
    for (platform, account), row in sorted(stats.items()):
        n = int(row["n"])  # type: ignore[arg-type]
        times: list[float] = row["times"]  # type: ignore[assignment]
        within = sum(1 for t in times if t <= target + 1e-9)
        out.append(
            ChannelResponsiveness(
                platform=platform,
                account=account,
                needing_reply=n,
                replied=len(times),
                replied_within_target=within,
                overdue=int(row["late"]),  # type: ignore[arg-type]
                awaiting=int(row["open"]),  # type: ignore[arg-type]
                reply_rate=(len(times) / n) if n else None,
                within_target_rate=(within / n) if n else None,
                median_first_response_hours=statistics.median(times) if times else None,
                p90_first_response_hours=_nearest_rank(times, 0.9) if times else None,
                target_hours=target,
            )
        )
    return out
