"""Requests for recorded information (foi_request.received).

Policy: "All requests for recorded information received via social media should be passed
to Information.Compliance-Officer@bracknell-forest.gov.uk." Freedom of Information Act 2000
s.1 and s.8 (a written request, which may arrive by social media) and s.10 (an answer
within 20 working days; the ICO counts every UK bank holiday as a non-working day).
Environmental Information Regulations and subject access requests go to the same officer.

Route information_compliance; medium; due at the close of business on the 20th working day
after receipt (day of receipt not counted), configurable as checks.foi_working_days.
"""

from __future__ import annotations

from datetime import datetime

from checks.context import Context, Doc, Rule, describe, first_hit
from checks.finding import Finding
from kernel.businesstime import add_working_days, end_of_business_day

RECEIVED = "foi_request.received"


def _due(created: datetime, ctx: Context) -> datetime:
    """Close of business on the n-th working day after receipt: it depends only on the
    day of receipt (in the calendar's zone), so it is computed once per day and run."""
    day = ctx.local_date(created)
    due = ctx.foi_due.get(day)
    if due is None:
        n = ctx.settings.checks.foi_working_days
        due = ctx.foi_due[day] = end_of_business_day(add_working_days(created, n, ctx.cal), ctx.cal)
    return due


def received(doc: Doc, ctx: Context) -> Finding | None:
    hit = first_hit(doc, "foi.explicit")
    label = "request naming the law"
    if hit is None:
        hit = first_hit(doc, "foi.complete_cues")
        label = "request for recorded information"
    if hit is None:
        cue = first_hit(doc, "foi.request_cues")
        if cue is None:
            return None
        cue_end = cue[1] + len(cue[2])
        objects = [
            s
            for s, p in doc.hits.get("foi.info_objects", ())
            if s + len(p) <= cue[1] or s >= cue_end
        ]
        if not objects:
            return None
        hit, label = cue, "request for recorded information"
    q, span = ctx.quote(doc, hit[2])
    due = _due(doc.item.created_at, ctx)
    return ctx.finding(
        doc,
        RECEIVED,
        "medium",
        f"{label} {describe(q)}",
        route="information_compliance",
        due_at=due,
        span=span,
    )


RULES = (Rule(RECEIVED, received, "public", True),)
