"""The project's shared words, defined once: platforms, finding categories, severities,
routes and finding statuses. Every package takes them from here."""

from __future__ import annotations

# The platforms, in the order reports and configuration list them.
PLATFORMS = ("facebook", "instagram", "youtube", "twitter")

# The rule families, most urgent first: the report and the inbox order by this.
CATEGORIES = (
    "safeguarding",
    "foi_request",
    "unanswered",
    "third_party_advertising",
    "off_brand",
    "moderation",
)
# Findings about the pipeline itself (monitoring gaps, a late report), not about an item.
PIPELINE_CATEGORY = "pipeline"
SEVERITIES = ("high", "medium", "low")
# Who acts on a finding.
ROUTES = ("comms", "information_compliance", "safeguarding_lead")

# A finding's lifecycle: new -> open -> acknowledged -> resolved | dismissed.
STATUSES = ("new", "open", "acknowledged", "resolved", "dismissed")
ACTIVE = ("new", "open", "acknowledged")
CLOSED = ("resolved", "dismissed")
