"""The compliance checks: the council's social media policy as explainable rules.

Every rule is a pure function from canonical items (and the configuration) to findings;
each finding names its rule, quotes its evidence, and says how serious it is, who must act
and by when. Lexicons live in checks/lexicons/*.yml (overridable in the configuration).
docs/checks.md lists the rules, the policy sentence or law behind each, and the measured
quality and speed.

Public API:
    run_checks(items, settings, as_of) -> list[Finding]
    responsiveness(items, settings, as_of) -> list[ChannelResponsiveness]
    awaiting_reply(items, settings, as_of) -> list[Awaiting]
    needs_reply(text, kind="comment", settings=None) -> bool
    Finding, ChannelResponsiveness, Awaiting, RULES
"""

from __future__ import annotations

import gc
from collections.abc import Iterable
from datetime import UTC, datetime

from checks import advertising, foi, moderation, off_brand, safeguarding, unanswered
from checks.context import NO_HITS, NOT_SIGNIFICANT, URL_HINT, Context, Doc, Rule, analyse_item
from checks.finding import Finding
from checks.normalise import ASCII_TOKEN_BYTES as TOKEN_BYTES
from checks.normalise import SINGLES, Normalised
from checks.unanswered import Awaiting, ChannelResponsiveness
from kernel.config import Settings
from kernel.items import Item

__all__ = [
    "run_checks",
    "responsiveness",
    "awaiting_reply",
    "needs_reply",
    "Finding",
    "ChannelResponsiveness",
    "Awaiting",
    "RULES",
]

# Every per-item rule, in the order they run; unanswered.sla_breach needs whole threads
# and runs beside them.
ALL_RULES: tuple[Rule, ...] = (
    safeguarding.RULES + foi.RULES + moderation.RULES + advertising.RULES + off_brand.RULES
)

# Rule id → (severity, route): the table in docs/checks.md.
RULES: dict[str, tuple[str, str]] = {
    advertising.SPONSORED: ("high", "comms"),
    advertising.SPAM: ("low", "comms"),
    off_brand.POLITICAL: ("medium; high in a pre-election period", "comms"),
    off_brand.PERSONAL: ("high", "comms"),
    off_brand.PROFANITY: ("medium; low for mild words", "comms"),
    off_brand.NAMING: ("low", "comms"),
    off_brand.BANNED: ("low", "comms"),
    off_brand.LINK: ("low", "comms"),
    moderation.ABUSE: ("high for threats and slurs; medium insults; low profanity", "comms"),
    moderation.PERSONAL: ("medium; high for NHS/NI numbers", "comms"),
    unanswered.SLA_BREACH: ("medium", "comms"),
    foi.RECEIVED: ("medium", "information_compliance"),
    safeguarding.CONCERN: ("high", "safeguarding_lead"),
}


def _docs(items: Iterable[Item], ctx: Context) -> list[Doc]:
    # The latest version of an item wins when the same (platform, id) appears twice.
    latest: dict[tuple[str, str], Item] = {}
    for item in items:
        latest[(item.platform, item.id)] = item
    return [analyse_item(item, ctx) for item in latest.values()]


def run_checks(items: Iterable[Item], settings: Settings, as_of: datetime) -> list[Finding]:
    """Check canonical items against the policy.

    Args:
        items: canonical items, in any order (threads are assembled here).
        settings: the validated configuration (defaults: ``Settings()``).
        as_of: the aware time the check runs as of; it is each finding's detected_at and
            decides which unanswered items are overdue. Items created after it are not
            checked, and council replies after it do not count.

    Returns:
        Findings, at most one per (platform, item, rule), in input order of the items.
    """
    ctx = Context(settings, as_of)
    # The checks allocate many small objects and create no reference cycles; the cyclic
    # garbage collector would only rescan them (it costs about half the run time). Each
    # item's analysis is dropped as soon as it is checked.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _run(items, ctx)
    finally:
        if gc_was_enabled:
            gc.enable()


_NOT_DIGITS = b"@?./:"


def _may_fire_unhit(doc: Doc, ctx: Context) -> bool:
    """Whether a rule that needs no lexicon hit could fire on this text (a sound gate: a
    text it rejects cannot produce such a finding).

    Those rules are personal data (an email needs "@" and a "."; a phone number ten digits,
    an NI number six, a case reference four and a case word, an address three and a street
    word), links (a "." or "/" and the link hint) and spam's weak words. The platform flags
    are tested before.
    """
    sig = doc.sig
    if sig:
        digits = len(sig.translate(None, _NOT_DIGITS))
        if digits >= 6 or (digits >= 3 and not ctx.address_words.isdisjoint(doc.toks)):
            return True
        if (b"." in sig or b"/" in sig) and (b"@" in sig or doc.has_url_hint()):
            return True
    return not doc.item.is_own and not ctx.words["spam.weak"].isdisjoint(doc.toks)


def _run(items: Iterable[Item], ctx: Context) -> list[Finding]:
    # The latest version of an item wins when the same (platform, id) appears twice.
    latest: dict[tuple[str, str], Item] = {}
    for item in items:
        latest[(item.platform, item.id)] = item
    # Rule lists per case, so the loop below tests nothing per rule:
    # index = 4 * own + 2 * has lexicon hits + private message.
    table: list[list] = [[] for _ in range(8)]
    for rule in ALL_RULES:
        if not ctx.enabled(rule.id):
            continue
        for own in (0, 1):
            for hits in (0, 1):
                for private in (0, 1):
                    applies = (
                        (rule.applies_to == "own")
                        if own
                        else (
                            rule.applies_to == "public"
                            or (rule.applies_to == "public_posts" and not private)
                        )
                    )
                    if applies and (hits or not rule.needs_hits):
                        table[4 * own + 2 * hits + private].append(rule.check)
    as_of = ctx.as_of
    sla = ctx.enabled(unanswered.SLA_BREACH)
    # The council's reply times (by as-of) per thread (platform, root_id), sorted; what
    # answers an item is a later one. Built from the items: no text analysis needed.
    threads: dict[tuple[str, str], list[datetime]] = {}
    if sla:
        for item in latest.values():
            if item.is_own and item.created_at <= as_of:
                threads.setdefault((item.platform, item.root_id), []).append(item.created_at)
        for times in threads.values():
            times.sort()
    breach = unanswered.sla_breach
    own_matcher, public_matcher = ctx.own_matcher, ctx.public_matcher
    address_words, spam_weak = ctx.address_words, ctx.words["spam.weak"]
    out: list[Finding] = []
    # One pass: each item is analysed, checked and dropped (no list of analyses is kept).
    for item in latest.values():
        if item.created_at > as_of:
            continue  # not yet posted as of then
        is_own = item.is_own
        waiting = False  # a public item with no later council reply in its thread
        if sla and not is_own:
            times = threads.get((item.platform, item.root_id))
            waiting = not times or times[-1] <= item.created_at
        text = item.text
        lowered = text.lower()
        if text.isascii() and "#" not in lowered:
            # `analyse_item` inlined for plain ASCII (no look-alikes, no zero-width
            # characters, no hashtags), so that a text no rule can fire on costs no more
            # than its tokens and a few set tests, and builds no analysis.
            raw = lowered.encode("ascii")
            toks = raw.translate(TOKEN_BYTES, b"'").decode("ascii").split()
            if not SINGLES.isdisjoint(toks) and len(SINGLES.intersection(toks)) >= 2:
                doc = analyse_item(item, ctx)  # spaced-out letters possible: full path
                unhit = None
            else:
                if not toks:
                    continue  # nothing to read (an emoji, punctuation)
                matcher = own_matcher if is_own else public_matcher
                hits = NO_HITS if matcher.keys.isdisjoint(toks) else matcher.scan(toks)
                sig = raw.translate(None, NOT_SIGNIFICANT)
                # The gate of `_may_fire_unhit`, inlined.
                digits = len(sig.translate(None, _NOT_DIGITS))
                unhit = (
                    digits >= 6
                    or (digits >= 3 and not address_words.isdisjoint(toks))
                    or (
                        (b"." in sig or b"/" in sig)
                        and (b"@" in sig or URL_HINT.search(lowered) is not None)
                    )
                    or (not is_own and not spam_weak.isdisjoint(toks))
                )
                if not (hits or unhit or waiting or item.flags):
                    continue  # no rule can fire: the common case
                doc = Doc(item, Normalised(lowered, None, text), toks, hits, toks, sig)
        else:
            doc = analyse_item(item, ctx)
            unhit = None
            if not doc.toks and not item.flags:
                continue  # nothing to read (an emoji, a bare image)
        mark = len(out)
        if doc.hits or item.flags or (unhit if unhit is not None else _may_fire_unhit(doc, ctx)):
            for check in table[4 * is_own + 2 * bool(doc.hits) + (item.kind == "message")]:
                f = check(doc, ctx)
                if f:
                    out.append(f)
        if waiting:
            f = breach(doc, ctx, threads)
            if f:
                out.append(f)
        if len(out) - mark > 1:  # one item, several rules: a stable order by rule
            out[mark:] = sorted(out[mark:], key=lambda f: f.rule)
    return out


def responsiveness(
    items: Iterable[Item], settings: Settings, as_of: datetime
) -> list[ChannelResponsiveness]:
    """Per-channel reply rate and first-response times in business hours.

    Args:
        items: canonical items including the council's own replies.
        settings: the configuration (business hours, response target).
        as_of: replies after this time are not counted.

    Returns:
        One `ChannelResponsiveness` per (platform, account), sorted.
    """
    ctx = Context(settings, as_of)
    return unanswered.responsiveness(_docs(items, ctx), ctx)


def awaiting_reply(items: Iterable[Item], settings: Settings, as_of: datetime) -> list[Awaiting]:
    """Public items needing a reply that have none yet but are not overdue, soonest first."""
    ctx = Context(settings, as_of)
    return unanswered.awaiting(_docs(items, ctx), ctx)


_CONTEXTS: dict[int, tuple[Settings, Context]] = {}


def _context_for(settings: Settings) -> Context:
    # Settings are unhashable (lists); keep the object itself so its id is not reused.
    got = _CONTEXTS.get(id(settings))
    if got is None or got[0] is not settings:
        if len(_CONTEXTS) > 8:
            _CONTEXTS.clear()
        got = (settings, Context(settings, datetime(2000, 1, 1, tzinfo=UTC)))
        _CONTEXTS[id(settings)] = got
    return got[1]


_DEFAULT_SETTINGS = Settings()


def needs_reply(text: str, kind: str = "comment", settings: Settings | None = None) -> bool:
    """Whether a public item with this text needs a reply from the council.

    The classifier `unanswered.sla_breach` uses: a question, complaint, request or report of
    a problem; not thanks, praise, an emoji or a friend tagged.

    Args:
        text: the item's text.
        kind: comment, mention, message or post (a comment that starts by tagging someone
            other than the council is a conversation between residents).
        settings: the configuration (lexicons, the council's handles); defaults if None.
    """
    ctx = _context_for(settings if settings is not None else _DEFAULT_SETTINGS)
    item = Item("facebook", "-", kind, "", "", "", False, "-", "-", ctx.as_of, text or "")
    return unanswered.needs_reply(analyse_item(item, ctx), ctx) is not None
