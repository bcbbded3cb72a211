"""The finding: which rule fired on which item, why, how serious, who acts and by when."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

__all__ = ["Finding", "CATEGORIES", "SEVERITIES", "ROUTES"]

from kernel.vocabulary import CATEGORIES, ROUTES, SEVERITIES

# The JSON contract of `channelwatch check` (issue 4), in this order.
CONTRACT_FIELDS = (
    "item_id",
    "platform",
    "category",
    "rule",
    "severity",
    "evidence",
    "route",
    "due_at",
    "detected_at",
)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


@dataclass(frozen=True, slots=True)
class Finding:
    """One rule firing on one item. Identified by (platform, item_id, rule): re-running the
    checks on the same items gives the same findings, never duplicates.

    Attributes:
        item_id: the item's platform id.
        platform: facebook, instagram, youtube or twitter.
        category: the rule family (the part of ``rule`` before the first dot).
        rule: dotted rule id, e.g. "off_brand.political".
        severity: high, medium or low.
        evidence: human-readable reason quoting the original text or naming the flag.
        route: comms, information_compliance or safeguarding_lead.
        due_at: when the routed team must have acted (aware, UTC), or None.
        detected_at: when the checks ran (the as-of time).
        evidence_span: (start, end) of the quoted span in the item's original text, for
            highlighting; None when the evidence is a flag or the absence of a reply.
    """

    item_id: str
    platform: str
    category: str
    rule: str
    severity: str
    evidence: str
    route: str
    due_at: datetime | None
    detected_at: datetime
    evidence_span: tuple[int, int] | None = None

    @property
    def key(self) -> tuple[str, str, str]:
        """(platform, item_id, rule): the identity of a finding."""
        return (self.platform, self.item_id, self.rule)

    def to_dict(self, *, with_span: bool = False) -> dict[str, Any]:
        """The JSON object of the `channelwatch check` contract.

        Args:
            with_span: also include ``evidence_span`` as [start, end] or null.
        """
        out: dict[str, Any] = {
            "item_id": self.item_id,
            "platform": self.platform,
            "category": self.category,
            "rule": self.rule,
            "severity": self.severity,
            "evidence": self.evidence,
            "route": self.route,
            "due_at": _iso(self.due_at),
            "detected_at": _iso(self.detected_at),
        }
        if with_span:
            out["evidence_span"] = list(self.evidence_span) if self.evidence_span else None
        return out
