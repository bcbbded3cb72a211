"""Third-party advertising.

Policy: "Council social media accounts and pages must not take on paid for advertising from
third parties. This could be in breach of the publicity code, social media terms and
conditions and the council's third party publicity protocol."

- third_party_advertising.sponsored_post (high, comms): on the council's own posts, a
  platform flag (Facebook sponsor tags / a sponsor on a promoted post, Instagram paid
  partnership, YouTube paid product placement) or text: a disclosure tag, a brand credited
  ("in partnership with @brand"), discount-code wording or an affiliate/tracking link.
  The council itself, configured partners and public bodies are never a third party.
- third_party_advertising.comment_spam (low, comms): promotional spam in public comments.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from checks.context import Context, Doc, Rule, count_hits, describe, domain_in, first_hit, host_of
from checks.finding import Finding
from checks.normalise import tokens

SPONSORED = "third_party_advertising.sponsored_post"
SPAM = "third_party_advertising.comment_spam"

# Flags the connectors set (see docs/checks.md): truthy → paid third-party content.
_PAID_FLAGS = (
    "paid_partnership",
    "is_paid_partnership",
    "paid_product_placement",
    "has_paid_product_placement",
    "branded_content",
)
_SPONSOR_FLAGS = ("sponsor", "sponsors", "sponsor_tags", "branded_content_sponsor")
_NAME_AFTER = re.compile(r"[\s:,-]*(@[\w.]+|[A-Z][\w&'.-]*(?:[ ]+(?:&[ ]+)?[A-Z][\w&'.-]*){0,4})")


def _names(value: Any) -> list[str]:
    if value in (None, "", False, [], {}):
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        for key in ("name", "username", "handle", "id"):
            if value.get(key):
                return [str(value[key])]
        return ["(unnamed sponsor)"]
    if isinstance(value, (list, tuple)):
        return [n for v in value for n in _names(v)]
    if value is True:
        return ["(unnamed sponsor)"]
    return [str(value)]


def _flag_evidence(doc: Doc, ctx: Context) -> str | None:
    flags = doc.item.flags
    sponsors = [n for key in _SPONSOR_FLAGS for n in _names(flags.get(key))]
    third = [n for n in sponsors if not ctx.is_friendly(n)]
    for key in _PAID_FLAGS:
        value = flags.get(key)
        if value and value not in ("false", "0", "no"):
            if sponsors and not third:
                return None  # a paid partnership with a configured partner
            who = f" with {', '.join(third)}" if third else ""
            return f"flag {key}={value!r}{who}".replace("=True", "=true")
    if third:
        key = next(k for k in _SPONSOR_FLAGS if _names(flags.get(k)))
        status = flags.get("promotion_status")
        extra = f", promotion_status={status!r}" if status else ""
        return f"flag {key}: third-party sponsor {', '.join(third)}{extra}"
    return None


def _affiliate(doc: Doc, ctx: Context) -> tuple[str, int, int] | None:
    domains, params = ctx.affiliate_domains, ctx.affiliate_params
    for url, start, end in doc.urls():
        host = host_of(url)
        if domain_in(host, domains):
            return url, start, end
        if "?" in url and not domain_in(host, ctx.public_link_domains):
            try:
                query = parse_qsl(urlsplit(url if "://" in url else "https://" + url).query)
            except ValueError:
                continue
            if any(k.lower() in params for k, _ in query):
                return url, start, end
    return None


def sponsored_post(doc: Doc, ctx: Context) -> Finding | None:
    """third_party_advertising.sponsored_post on one of the council's own items."""
    flag = _flag_evidence(doc, ctx) if doc.item.flags else None
    if flag:
        return ctx.finding(doc, SPONSORED, "high", flag)
    evidence: list[tuple[str, tuple[int, int] | None]] = []
    hit = first_hit(doc, "advertising.disclosure")
    if hit:
        q, span = ctx.quote(doc, hit[2])
        evidence.append((f"disclosure {describe(q)}", span))
    for name in ("advertising.brand_credit", "advertising.brand_credit_handle_only"):
        for _, phrase in doc.hits.get(name, ()):
            q, span = ctx.quote(doc, phrase)
            if span is None:
                continue
            m = _NAME_AFTER.match(doc.item.text, span[1])
            if not m:
                continue
            entity = m.group(1)
            if name.endswith("handle_only") and not entity.startswith("@"):
                continue
            if ctx.is_friendly(entity):
                continue
            whole = (span[0], m.end(1))
            evidence.append(
                (f"brand credited {describe(doc.item.text[whole[0] : whole[1]])}", whole)
            )
    link = _affiliate(doc, ctx)
    if link:
        q, span = ctx.quote_norm_span(doc, link[1], link[2])
        evidence.append((f"affiliate/tracking link {describe(q)}", span))
    hit = first_hit(doc, "advertising.promo")
    if hit:
        q, span = ctx.quote(doc, hit[2])
        evidence.append((f"sales wording {describe(q)}", span))
    if not evidence:
        return None
    text, span = evidence[0]
    if len(evidence) > 1:
        text += f" (+{len(evidence) - 1} more)"
    return ctx.finding(doc, SPONSORED, "high", text, span=span)


def _bare(doc: Doc, links: list[tuple[str, int, int]]) -> bool:
    """True when the comment is little more than a link (three words or fewer besides)."""
    text, pos, rest = doc.norm.text, 0, []
    for _, start, end in doc.urls():
        rest.append(text[pos:start])
        pos = end
    rest.append(text[pos:])
    return len(tokens(" ".join(rest))) <= 3


def comment_spam(doc: Doc, ctx: Context) -> Finding | None:
    """third_party_advertising.comment_spam on a public comment, post or mention."""
    hit = first_hit(doc, "spam.strong") if doc.hits else None
    if hit:
        q, span = ctx.quote(doc, hit[2])
        more = count_hits(doc, "spam.strong") - 1
        return ctx.finding(doc, SPAM, "low", f"promotional {describe(q, more)}", span=span)
    weak = ctx.words["spam.weak"].intersection(doc.toks)
    if not weak and not doc.has_url_hint():
        return None
    links = [u for u in doc.urls() if not domain_in(host_of(u[0]), ctx.public_link_domains)]
    if links and _bare(doc, links):
        q, span = ctx.quote_norm_span(doc, links[0][1], links[0][2])
        return ctx.finding(
            doc, SPAM, "low", f"comment that is only a link {describe(q)}", span=span
        )
    if len(weak) >= ctx.spam_weak_needed or (weak and links) or (links and _affiliate(doc, ctx)):
        words = ", ".join(sorted(weak))
        if links:
            q, span = ctx.quote_norm_span(doc, links[0][1], links[0][2])
            ev = f"link {describe(q)}" + (f" with promotional words: {words}" if words else "")
        else:
            first = min(weak, key=doc.toks.index)
            q, span = ctx.quote(doc, (first,))
            ev = f"promotional words: {words}"
        return ctx.finding(doc, SPAM, "low", ev, span=span)
    return None


RULES = (
    Rule(SPONSORED, sponsored_post, "own", False),
    Rule(SPAM, comment_spam, "public_posts", False),
)
