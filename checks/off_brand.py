"""Off-brand content in the council's own posts and replies.

- off_brand.political: party-political content. Local Government Act 1986 s.2 (no material
  designed to affect support for a political party) and the Code of Recommended Practice on
  Local Authority Publicity; policy: "Always be politically neutral". Medium, or high inside
  a configured pre-election period; a named politician alone is low (medium inside one).
  Neutral election administration ("polling stations are open 7am to 10pm") is not flagged.
- off_brand.personal_data: personal data in a post (high). Policy: "Never post personal,
  confidential or sensitive information"; UK GDPR art. 5(1)(f).
- off_brand.profanity: swearing (strong: medium, mild: low); whole tokens only, so
  Scunthorpe is not profanity. Policy: "Be credible, cordial, accurate, fair".
- off_brand.style.naming / .banned_term / .link_domain: the configured house style (low).
"""

from __future__ import annotations

from checks import personal_data as pd
from checks.context import Context, Doc, Rule, count_hits, describe, domain_in, first_hit, host_of
from checks.finding import Finding

POLITICAL = "off_brand.political"
PERSONAL = "off_brand.personal_data"
PROFANITY = "off_brand.profanity"
NAMING = "off_brand.style.naming"
BANNED = "off_brand.style.banned_term"
LINK = "off_brand.style.link_domain"


def political(doc: Doc, ctx: Context) -> Finding | None:
    lex = ctx.lex["political"]
    found: list[tuple[int, tuple[str, ...], str]] = []  # (token index, phrase, kind)
    for start, phrase in doc.hits.get("political.partisan", ()):
        found.append((start, phrase, "partisan"))
    amb = doc.hits.get("political.ambiguous_parties", ())
    if amb:
        window = int(lex.get("context_window", 3))
        context = ctx.words["political.context"]
        ctx_pos = [i for i, t in enumerate(doc.toks) if t in context]
        for start, phrase in amb:
            if any(abs(s - start) <= window for s in ctx_pos):
                found.append((start, phrase, "partisan"))
    triggers = doc.hits.get("political.vote_triggers", ())
    if triggers:
        neutral = ctx.words["political.vote_for_neutral"]
        for start, phrase in triggers:
            nxt = start + len(phrase)
            if nxt < len(doc.toks) and doc.toks[nxt] not in neutral:
                found.append((start, phrase + (doc.toks[nxt],), "partisan"))
    partisan = bool(found)
    if not partisan:
        for start, phrase in doc.hits.get("political.politicians", ()):
            found.append((start, phrase, "politician"))
    if not found:
        return None
    found.sort()
    start, phrase, kind = found[0]
    period = ctx.in_pre_election(doc.item.created_at)
    if partisan:
        severity = "high" if period else "medium"
        label = "party-political"
    else:
        severity = "medium" if period else "low"
        label = "names a politician"
    q, span = ctx.quote(doc, phrase)
    where = f" during pre-election period {period!r}" if period else ""
    return ctx.finding(
        doc, POLITICAL, severity, f"{label} {describe(q, len(found) - 1)}{where}", span=span
    )


def personal_data(doc: Doc, ctx: Context) -> Finding | None:
    found = pd.find_personal_data(doc, ctx)
    if not found:
        return None
    text, span = pd.evidence(doc, ctx, found)
    return ctx.finding(doc, PERSONAL, "high", text, span=span)


def profanity(doc: Doc, ctx: Context) -> Finding | None:
    hit = first_hit(doc, "profanity.strong", "profanity.masked")
    severity = "medium"
    if hit is None:
        hit = first_hit(doc, "profanity.mild")
        severity = "low"
    if hit is None:
        return None
    more = count_hits(doc, "profanity.strong", "profanity.masked", "profanity.mild") - 1
    q, span = ctx.quote(doc, hit[2])
    return ctx.finding(doc, PROFANITY, severity, f"profanity {describe(q, more)}", span=span)


def naming(doc: Doc, ctx: Context) -> Finding | None:
    required = ctx.settings.checks.brand.required_name
    hit = first_hit(doc, "style.wrong_names") if required else None
    if hit is None:
        return None
    q, span = ctx.quote(doc, hit[2])
    return ctx.finding(doc, NAMING, "low", f'{describe(q)} should be "{required}"', span=span)


def banned_term(doc: Doc, ctx: Context) -> Finding | None:
    hit = first_hit(doc, "style.banned_terms")
    if hit is None:
        return None
    q, span = ctx.quote(doc, hit[2])
    more = count_hits(doc, "style.banned_terms") - 1
    return ctx.finding(doc, BANNED, "low", f"banned term {describe(q, more)}", span=span)


def link_domain(doc: Doc, ctx: Context) -> Finding | None:
    if not ctx.allowed_link_domains:
        return None
    bad = [u for u in doc.urls() if not domain_in(host_of(u[0]), ctx.allowed_link_domains)]
    if not bad:
        return None
    q, span = ctx.quote_norm_span(doc, bad[0][1], bad[0][2])
    return ctx.finding(
        doc, LINK, "low", f"link outside the allowed domains {describe(q, len(bad) - 1)}", span=span
    )


RULES = (
    Rule(POLITICAL, political, "own", True),
    Rule(PERSONAL, personal_data, "own", False),
    Rule(PROFANITY, profanity, "own", True),
    Rule(NAMING, naming, "own", True),
    Rule(BANNED, banned_term, "own", True),
    Rule(LINK, link_domain, "own", False),
)
