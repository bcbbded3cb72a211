"""Safeguarding disclosures (safeguarding.concern: high, safeguarding lead, due at once).

Policy: "Be aware of child and adult safeguarding issues – social media sites are often
misused by offenders. If you have any concerns, report them to the safeguarding lead";
Children Act 2004 s.11 and Care Act 2014 s.42 duties. Looks for disclosures of risk to a
child or a vulnerable adult, self-harm or suicidal intent, abuse, and an adult seeking
contact with children, in any item the public sends (comments, mentions and messages).
"""

from __future__ import annotations

from checks.context import Context, Doc, Rule, count_hits, describe, first_hit
from checks.finding import Finding

CONCERN = "safeguarding.concern"

_LISTS = (
    "safeguarding.grooming",
    "safeguarding.child_risk",
    "safeguarding.self_harm",
    "safeguarding.adult_risk",
)
_LABELS = {
    "safeguarding.grooming": "adult seeking contact with children",
    "safeguarding.child_risk": "risk to a child",
    "safeguarding.self_harm": "self-harm or suicide risk",
    "safeguarding.adult_risk": "risk to an adult",
}


def concern(doc: Doc, ctx: Context) -> Finding | None:
    for name in _LISTS:
        hit = first_hit(doc, name)
        if hit:
            q, span = ctx.quote(doc, hit[2])
            more = count_hits(doc, *_LISTS) - 1
            return ctx.finding(
                doc,
                CONCERN,
                "high",
                f"{_LABELS[name]}: {describe(q, more)}",
                route="safeguarding_lead",
                due_at=doc.item.created_at,
                span=span,
            )
    return None


RULES = (Rule(CONCERN, concern, "public", True),)
