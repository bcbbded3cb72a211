"""Moderation of public comments, posts and mentions (not private messages).

- moderation.abuse: threats (high), slurs (high), insults (medium; the weaker words only
  when aimed at someone), strong profanity (low). Policy: the council's channels must not
  "bring the council into disrepute"; Malicious Communications Act 1988 s.1, Public Order
  Act 1986 s.4A/s.5 for threats and slurs.
- moderation.personal_data: a member of the public posting their own or someone else's
  personal data publicly (medium; high for NHS and National Insurance numbers). UK GDPR.
"""

from __future__ import annotations

from checks import personal_data as pd
from checks.context import Context, Doc, Rule, count_hits, describe, first_hit
from checks.finding import Finding

ABUSE = "moderation.abuse"
PERSONAL = "moderation.personal_data"

_KINDS = (  # (list, label, severity), most serious first
    ("abuse.threats", "threat", "high"),
    ("abuse.slurs", "slur", "high"),
    ("abuse.insults", "insult", "medium"),
)


def _targeted(doc: Doc, ctx: Context) -> tuple[int, tuple[str, ...]] | None:
    weak = doc.hits.get("abuse.weak_insults")
    if not weak:
        return None
    window = int(ctx.lex["abuse"].get("target_window", 3))
    words = ctx.words["abuse.targets"]
    targets = [i for i, t in enumerate(doc.toks) if t in words or t[:1] == "@"]
    toks = doc.toks
    targets += [
        i
        for p in ctx.target_phrases
        for i in range(len(toks) - len(p) + 1)
        if tuple(toks[i : i + len(p)]) == p
    ]
    for start, phrase in sorted(weak):  # the earliest: hits come in set order
        end = start + len(phrase) - 1
        if any(-window <= start - t <= window or -window <= t - end <= window for t in targets):
            return start, phrase
    return None


def abuse(doc: Doc, ctx: Context) -> Finding | None:
    total = count_hits(doc, "abuse.threats", "abuse.slurs", "abuse.insults")
    for name, label, severity in _KINDS:
        hit = first_hit(doc, name)
        if hit:
            q, span = ctx.quote(doc, hit[2])
            return ctx.finding(doc, ABUSE, severity, f"{label} {describe(q, total - 1)}", span=span)
    aimed = _targeted(doc, ctx)
    if aimed:
        q, span = ctx.quote(doc, aimed[1])
        return ctx.finding(doc, ABUSE, "medium", f"insult {describe(q)}", span=span)
    hit = first_hit(doc, "profanity.strong", "profanity.masked")
    if hit:
        q, span = ctx.quote(doc, hit[2])
        return ctx.finding(doc, ABUSE, "low", f"profanity {describe(q)}", span=span)
    return None


def personal_data(doc: Doc, ctx: Context) -> Finding | None:
    found = pd.find_personal_data(doc, ctx)
    if not found:
        return None
    severity = "high" if found[0].kind in ("nhs_number", "ni_number") else "medium"
    text, span = pd.evidence(doc, ctx, found)
    return ctx.finding(doc, PERSONAL, severity, f"posted publicly: {text}", span=span)


RULES = (
    Rule(ABUSE, abuse, "public_posts", True),
    Rule(PERSONAL, personal_data, "public_posts", False),
)
