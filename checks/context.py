"""What every rule receives: the run's context (settings, lexicons, calendar, as-of) and
each item's analysed text. Built once per run; rules are pure functions of these."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from checks.finding import Finding
from checks.matcher import FAMILIES, Matcher, _read_yaml, expand, lexicon_path, locate
from checks.normalise import ASCII_TOKEN_BYTES as _TOKEN_BYTES
from checks.normalise import SINGLES, Normalised, analyse, normalise, tokens
from kernel.businesstime import Calendar, HoursUntil, calendar
from kernel.config import Settings
from kernel.items import Item

__all__ = ["Context", "Doc", "Rule", "analyse_item"]

# Lists that are data, not phrases to match.
_NOT_PHRASES = {
    "advertising.affiliate_domains",
    "advertising.affiliate_params",
    "personal_data.organisation_prefixes",
    "personal_data.street_types",
    "personal_data.case_ref_words",
    "personal_data.name_titles",
    "personal_data.greetings",
    "political.election_admin",
}
_OWN_FAMILIES = ("advertising", "political", "profanity", "style")
_PUBLIC_FAMILIES = ("spam", "abuse", "profanity", "safeguarding", "foi")
# Single-word lists the rules test as sets (they are common words: matching them as
# phrases would make every text a candidate).
WORD_SETS = (
    "needs_reply.question_starts",
    "abuse.targets",
    "spam.weak",
    "political.context",
    "abuse.target_phrases",
    "political.vote_for_neutral",
    "advertising.public_body_words",
)
# Lists whose single words also match look-alike-digit spellings.
_LEET_LISTS = {
    "profanity.strong",
    "abuse.slurs",
    "abuse.insults",
    "abuse.weak_insults",
    "abuse.threats",
    "spam.strong",
}

_SIG_MARKS = b"@?./:"
NOT_SIGNIFICANT = bytes(c for c in range(256) if bytes([c]) not in b"0123456789" + _SIG_MARKS)
_URL_RE = re.compile(
    r"(?:https?://|www\.)[^\s<>\"'()]+"
    r"|(?<![\w@.])(?:[a-z0-9](?:[a-z0-9-]*[a-z0-9])?\.)+"
    r"(?:com|co\.uk|org\.uk|gov\.uk|nhs\.uk|uk|org|net|to|us|io|me|ly|it|eu|in|link|co|info|biz|xyz)"
    r"(?:/[^\s<>\"'()]*)?(?![\w@])"
)
URL_HINT = re.compile(
    r"https?:|www\.|[a-z0-9]\.(?:com|co|uk|org|net|to|us|io|ly|me|it|eu|in|"
    r"link|info|biz|xyz)\b"
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One rule: its id, the function that checks one item, and where it applies.

    Attributes:
        id: the dotted rule id ("off_brand.political").
        check: ``(doc, ctx) -> Finding | None``.
        applies_to: "own" (the council's items), "public" (everyone else's, private
            messages included) or "public_posts" (everyone else's, not private messages).
        needs_hits: True when the rule can only fire on a text with a lexicon hit, so an
            item without one skips it.
    """

    id: str
    check: Callable[[Doc, Context], Finding | None]
    applies_to: str
    needs_hits: bool


@dataclass(slots=True)
class Doc:
    """An item with its text analysed once for all rules.

    Attributes:
        item: the canonical item.
        norm: the normalised text (with the offset map back to ``item.text``).
        toks: its tokens.
        hits: matched phrases: list name ("family.list") → [(token index, phrase tokens)].
    """

    item: Item
    norm: Normalised
    toks: list[str]
    hits: dict[str, list[tuple[int, tuple[str, ...]]]]
    scan_toks: list[str]
    sig: bytes = b""
    _urls: list[tuple[str, int, int]] | None = None
    _hint: bool | None = None
    _reply_hits: dict[str, list[tuple[int, tuple[str, ...]]]] | None = None

    def reply_hits(self, ctx: Context) -> dict[str, list[tuple[int, tuple[str, ...]]]]:
        """Hits of the needs-reply lexicon, scanned only when an item may need a reply."""
        if self._reply_hits is None:
            self._reply_hits = ctx.matchers["reply"].scan(self.scan_toks)
        return self._reply_hits

    def has_url_hint(self) -> bool:
        """A cheap test: might the text contain a link?"""
        hint = self._hint
        if hint is None:
            sig = self.sig
            hint = self._hint = (b"." in sig or b"/" in sig) and URL_HINT.search(
                self.norm.text
            ) is not None
        return hint

    def digits(self) -> int:
        """How many digits the normalised text has."""
        sig = self.sig
        return len(sig.translate(None, _SIG_MARKS))

    def urls(self) -> list[tuple[str, int, int]]:
        """Links in the text: (url as normalised, start, end in the normalised text)."""
        if self._urls is None:
            if self.has_url_hint():
                self._urls = [
                    (
                        m.group().rstrip(".,;:!?"),
                        m.start(),
                        m.end() - (len(m.group()) - len(m.group().rstrip(".,;:!?"))),
                    )
                    for m in _URL_RE.finditer(self.norm.text)
                ]
            else:
                self._urls = []
        return self._urls


NO_HITS: dict[str, list[tuple[int, tuple[str, ...]]]] = {}


def analyse_item(item: Item, ctx: Context) -> Doc:
    """Normalise, tokenise and scan one item's text with the lexicons its kind needs."""
    text = item.text
    if text.isascii():
        # `analyse`'s fast path, inlined: this runs once per item.
        lowered = text.lower()
        raw = lowered.encode("ascii")
        toks = raw.translate(_TOKEN_BYTES, b"'").decode("ascii").split()
        if SINGLES.isdisjoint(toks) or len(SINGLES.intersection(toks)) < 2:
            # no spaced-out letters possible (they need two distinct single letters)
            norm = Normalised(lowered, None, text)
        else:
            norm, toks = analyse(text)
            raw = norm.text.encode("utf-8")
    else:
        norm, toks = analyse(text)
        raw = norm.text.encode("utf-8")
    # The characters the cheap gates ask about (digits, @ ? . / :), in order.
    sig = raw.translate(None, NOT_SIGNIFICANT)
    scan = toks
    if "#" in norm.text:
        # A hashtag also counts as its bare word: "#fuckoff" is profane, "#ad" stays "#ad".
        scan = toks + [t.lstrip("#") for t in toks if t[:1] == "#" and len(t) > 1]
    matcher = ctx.own_matcher if item.is_own else ctx.public_matcher
    # Most texts share no token with any lexicon key: skip the scan call for them.
    hits = NO_HITS if matcher.keys.isdisjoint(scan) else matcher.scan(scan)
    return Doc(item, norm, toks, hits, scan, sig)


def host_of(url: str) -> str:
    """The lower-case host of a URL with or without a scheme."""
    rest = url.split("://", 1)[-1]
    host = re.split(r"[/?#:]", rest, maxsplit=1)[0].lower()
    return host[4:] if host.startswith("www.") else host


def domain_in(host: str, domains: frozenset[str]) -> bool:
    """True when ``host`` is one of ``domains`` or a subdomain of one."""
    parts = host.split(".")
    return any(".".join(parts[i:]) in domains for i in range(len(parts)))


def digits_of(text: str) -> str:
    """A phone number as its national digits: +44 (0)1344 352000 → 01344352000."""
    digits = re.sub(r"\D", "", text)
    if digits.startswith("0044"):
        digits = digits[2:]
    if digits.startswith("44") and len(digits) >= 11:
        digits = "0" + digits[2:].lstrip("0")
    return digits


def _clean_domain(value: str) -> str:
    return host_of(value.strip().lower()).strip(".")


@functools.lru_cache(maxsize=16)
def _build_matcher(
    paths: tuple[str, ...], style: tuple[tuple[str, tuple[str, ...]], ...]
) -> tuple[dict[str, Matcher], dict[str, dict[str, Any]]]:
    families = {f: _read_yaml(p) for f, p in zip(FAMILIES, paths)}
    lists: dict[str, list[str]] = {}
    for family, data in families.items():
        for key, value in data.items():
            name = f"{family}.{key}"
            if isinstance(value, list) and name not in _NOT_PHRASES and name not in WORD_SETS:
                lists[name] = [str(v) for v in value]
    for name, phrases in style:
        lists[name] = list(phrases)
    # One matcher per kind of item, so a text is only a candidate for the lists its rules
    # read; the needs-reply lists are scanned only for items still without a reply.
    groups = {"own": _OWN_FAMILIES, "public": _PUBLIC_FAMILIES, "reply": ("needs_reply",)}
    matchers = {
        group: Matcher(
            {n: v for n, v in lists.items() if n.split(".", 1)[0] in families_}, leet=_LEET_LISTS
        )
        for group, families_ in groups.items()
    }
    return matchers, families


class Context:
    """Everything a rule needs besides the item, derived once per run from `Settings`.

    Args:
        settings: the validated configuration.
        as_of: the time the checks are run "as of" (aware).
    """

    def __init__(self, settings: Settings, as_of: datetime) -> None:
        if as_of.tzinfo is None:
            raise ValueError("as_of must be timezone-aware")
        self.settings = settings
        self.as_of = as_of.astimezone(UTC)
        self.cal: Calendar = calendar(settings.business_hours)
        # Business hours from a time until as-of (how long an item has waited).
        self.hours_to_as_of = HoursUntil(self.as_of, self.cal)
        self.foi_due: dict[date, datetime] = {}  # FOI due time per day of receipt (foi.py)
        brand = settings.checks.brand
        paths = tuple(str(lexicon_path(f, settings)) for f in FAMILIES)
        style = (
            ("style.banned_terms", tuple(brand.banned_terms)),
            ("style.wrong_names", tuple(brand.wrong_names)),
        )
        self.matchers, self.lex = _build_matcher(paths, style)
        self.own_matcher, self.public_matcher = self.matchers["own"], self.matchers["public"]
        self.disabled = tuple(settings.checks.disabled_rules)
        self.review_hours = dict(settings.checks.review_hours)
        pdl = self.lex["personal_data"]
        # Words without which a short run of digits cannot be an address or case reference.
        self.address_words = frozenset(
            {str(s).lower() for s in pdl.get("street_types", [])}
            | {str(w).lower().split()[0] for w in pdl.get("case_ref_words", []) if str(w).split()}
        )
        self._enabled: dict[str, bool] = {}
        self.words: dict[str, frozenset[str]] = {}
        for name in WORD_SETS:
            family, key = name.split(".", 1)
            self.words[name] = frozenset(
                t
                for raw in self.lex[family].get(key, [])
                for phrase in expand(str(raw))
                for t in tokens(normalise(phrase).text)
            )
        self.target_phrases = tuple(
            p
            for raw in self.lex["abuse"].get("target_phrases", [])
            for phrase in expand(str(raw))
            if (p := tuple(tokens(normalise(phrase).text)))
        )
        self.spam_weak_needed = int(self.lex["spam"].get("weak_needed", 2))
        adv = self.lex["advertising"]
        self.affiliate_domains = frozenset(str(d).lower() for d in adv.get("affiliate_domains", []))
        self.affiliate_params = frozenset(str(p).lower() for p in adv.get("affiliate_params", []))

        contact = settings.contact_details
        partner_domains = {_clean_domain(d) for p in settings.partners for d in p.domains}
        own_domains = {_clean_domain(d) for d in contact.domains}
        own_domains |= {e.rsplit("@", 1)[-1].lower() for e in contact.emails if "@" in e}
        self.own_domains = frozenset(own_domains)
        self.partner_domains = frozenset(partner_domains)
        self.allowed_link_domains = (
            frozenset(
                {_clean_domain(d) for d in brand.allowed_link_domains}
                | own_domains
                | partner_domains
            )
            if brand.allowed_link_domains
            else frozenset()
        )
        self.public_link_domains = frozenset(
            {"gov.uk", "nhs.uk", "police.uk", "ac.uk", "sch.uk", "parliament.uk"}
            | own_domains
            | partner_domains
        )
        self.own_phones = frozenset(digits_of(p) for p in contact.phones)
        self.own_emails = frozenset(e.strip().lower() for e in contact.emails)
        self.own_postcodes = frozenset(
            m.group().replace(" ", "").lower()
            for a in contact.addresses
            for m in re.finditer(r"[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}", a)
        )

        # Names that are the council or a partner: never a "third party".
        names = {settings.council}
        handles: set[str] = set()
        for _, account in settings.accounts.all():
            names.add(account.name)
            if account.handle:
                handles.add(account.handle.lstrip("@").lower())
        for partner in settings.partners:
            names.add(partner.name)
            handles |= {h.lstrip("@").lower() for h in partner.handles}
        self.friendly_handles = frozenset(handles)
        self.friendly_names = tuple(
            sorted({" ".join(tokens(normalise(n).text)) for n in names if n}, key=len, reverse=True)
        )
        self.council_handles = frozenset(
            a.handle.lstrip("@").lower() for _, a in settings.accounts.all() if a.handle
        )
        self.public_body_words = self.words["advertising.public_body_words"]
        self.question_starts = self.words["needs_reply.question_starts"]
        self.periods = tuple((p.start, p.end, p.name) for p in settings.pre_election_periods)

    # -- helpers shared by the rules ------------------------------------------------------

    def enabled(self, rule: str) -> bool:
        """False when the configuration disables ``rule`` or a prefix of it."""
        got = self._enabled.get(rule)
        if got is None:
            got = not any(rule == d or rule.startswith(d + ".") for d in self.disabled)
            self._enabled[rule] = got
        return got

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.cal.zone).date()

    def in_pre_election(self, moment: datetime) -> str | None:
        """The name of the pre-election period ``moment`` falls in, if any."""
        day = self.local_date(moment)
        for start, end, name in self.periods:
            if start <= day <= end:
                return name
        return None

    def review_due(self, item: Item, severity: str) -> datetime:
        created = item.created_at
        if created.tzinfo is not UTC:
            created = created.astimezone(UTC)
        return self.cal.add_hours_utc(created, self.review_hours.get(severity, 8.0))

    def is_friendly(self, entity: str) -> bool:
        """True when a credited name or @handle is the council, a partner or a public body."""
        bare = entity.strip().lstrip("@").lower()
        if not bare or bare in self.friendly_handles:
            return True
        toks = [t.strip("@#") for t in tokens(normalise(entity).text)]
        joined, squashed = " ".join(toks), "".join(toks)
        for name in self.friendly_names:
            if joined == name or joined.startswith(name + " ") or squashed == name.replace(" ", ""):
                return True
        words = self.public_body_words
        if words.intersection(toks):
            return True
        # A handle runs words together: @ThamesValleyPolice, @BracknellNHS.
        return entity.lstrip().startswith("@") and any(w in squashed for w in words if len(w) >= 3)

    def quote(self, doc: Doc, phrase: tuple[str, ...]) -> tuple[str, tuple[int, int] | None]:
        """The original text where ``phrase`` matched, and its span."""
        span = locate(doc.norm, phrase)
        if span is None:
            return " ".join(phrase), None
        return doc.item.text[span[0] : span[1]], span

    def quote_norm_span(self, doc: Doc, start: int, end: int) -> tuple[str, tuple[int, int]]:
        span = doc.norm.original_span(start, end)
        return doc.item.text[span[0] : span[1]], span

    def finding(
        self,
        doc: Doc,
        rule: str,
        severity: str,
        evidence: str,
        *,
        route: str = "comms",
        due_at: datetime | None | str = "review",
        span: tuple[int, int] | None = None,
    ) -> Finding:
        item = doc.item
        if due_at == "review":
            due_at = self.review_due(item, severity)
        return Finding(
            item_id=item.id,
            platform=item.platform,
            category=rule.split(".", 1)[0],
            rule=rule,
            severity=severity,
            evidence=evidence,
            route=route,
            due_at=(due_at if due_at.tzinfo is UTC else due_at.astimezone(UTC))
            if isinstance(due_at, datetime)
            else None,
            detected_at=self.as_of,
            evidence_span=span,
        )


def first_hit(doc: Doc, *names: str) -> tuple[str, int, tuple[str, ...]] | None:
    """The earliest hit among the named lists: (list name, token index, phrase)."""
    best = None
    for name in names:
        for start, phrase in doc.hits.get(name, ()):
            if best is None or start < best[1] or (start == best[1] and len(phrase) > len(best[2])):
                best = (name, start, phrase)
    return best


def count_hits(doc: Doc, *names: str) -> int:
    return sum(len(doc.hits.get(n, ())) for n in names)


def describe(quote: str, more: int = 0) -> str:
    """'"quote"' with '(+N more)' when other matches were found."""
    q = " ".join(quote.split())
    if len(q) > 120:
        q = q[:117] + "..."
    return f'"{q}"' + (f" (+{more} more)" if more > 0 else "")
