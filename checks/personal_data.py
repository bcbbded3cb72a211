"""Personal data in text: UK phone numbers, email addresses, house number with street and
postcode, National Insurance and NHS numbers, a named person's case reference.

Shared by off_brand.personal_data (the council's own posts and replies) and
moderation.personal_data (members of the public posting their own or someone else's data).
The council's own published contact details (configuration ``contact_details``) and
organisations' numbers (03, 080, 084, 087, 09) are never personal data.

Patterns run on the normalised text (so "０７７００ ９００１２３" is a phone number) and only
when the text has a digit or an "@"; evidence quotes the original characters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from checks.context import Context, Doc, digits_of, domain_in

__all__ = ["PersonalData", "find_personal_data"]

_DIGIT = re.compile(r"\d")
_PHONE = re.compile(r"(?<![\w+/.])(?:\+|00)?\(?\d(?:[ \-()]{0,2}\d){8,13}(?![\w/])")
_EMAIL = re.compile(r"(?<![\w.+-])[a-z0-9][a-z0-9._%+-]*@[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}")
# National Insurance: two prefix letters (not D, F, I, Q, U, V; second not O), six digits,
# suffix A-D. Spaces allowed between the pairs.
_NINO = re.compile(
    r"(?<![a-z0-9])(?!bg|gb|kn|nk|nt|tn|zz)[a-ceghj-pr-tw-z][a-ceghj-npr-tw-z]"
    r" ?\d{2} ?\d{2} ?\d{2} ?[a-d](?![a-z0-9])"
)
_POSTCODE = re.compile(r"(?<![a-z0-9])([a-z]{1,2}\d[a-z\d]?) ?(\d[abd-hjlnp-uw-z]{2})(?![a-z0-9])")

SENSITIVITY = {
    "nhs_number": 0,
    "ni_number": 1,
    "address": 2,
    "case_reference": 3,
    "phone_number": 4,
    "email_address": 5,
}
LABELS = {
    "nhs_number": "NHS number",
    "ni_number": "National Insurance number",
    "address": "home address",
    "case_reference": "named person's case reference",
    "phone_number": "phone number",
    "email_address": "email address",
}


@dataclass(frozen=True, slots=True)
class PersonalData:
    """One piece of personal data: its kind and where it is in the normalised text."""

    kind: str
    start: int
    end: int


def _nhs_valid(digits: str) -> bool:
    if len(digits) != 10 or len(set(digits)) == 1:
        return False
    total = sum(int(d) * (10 - i) for i, d in enumerate(digits[:9]))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])


class _Compiled:
    def __init__(self, ctx: Context) -> None:
        lex = ctx.lex["personal_data"]
        streets = "|".join(
            sorted((re.escape(str(s).lower()) for s in lex["street_types"]), key=len, reverse=True)
        )
        self.house = re.compile(
            r"(?<![\w£$.,/])(\d{1,4}[a-z]?)(?:,)? +(?:[a-z'-]+ +){1,3}?(?:" + streets + r")\b"
        )
        refs = "|".join(
            sorted(
                (re.escape(str(s).lower()) for s in lex["case_ref_words"]), key=len, reverse=True
            )
        )
        self.case_ref = re.compile(
            r"\b(?:" + refs + r")\s*(?:no\.?|number|ref\.?|reference|id)?\s*(?:is|:|#)?\s*"
            r"([a-z]{0,4}[-/]?\d[\d\-/]{3,}[a-z]?)\b"
        )
        titles = "|".join(re.escape(str(t).capitalize()) for t in lex["name_titles"])
        greetings = "|".join(re.escape(str(g)) for g in lex["greetings"])
        self.name = re.compile(
            r"\b(?:" + titles + r")\.? +[A-Z][a-z'-]+"
            r"|(?:^|[.!?]\s+|@\w+\s+)(?i:" + greetings + r"),? +[A-Z][a-z'-]+\b"
            r"|\b[A-Z][a-z'-]+ +[A-Z][a-z'-]+'s\b"
        )
        self.org_prefixes = tuple(str(p) for p in lex["organisation_prefixes"])
        self.street_words = frozenset(str(s).lower() for s in lex["street_types"])
        self.case_words = frozenset(str(w).lower().split()[0] for w in lex["case_ref_words"])


_COMPILED: dict[int, tuple[object, _Compiled]] = {}


def _compiled(ctx: Context) -> _Compiled:
    got = _COMPILED.get(id(ctx.lex))
    if got is None or got[0] is not ctx.lex:
        got = (ctx.lex, _Compiled(ctx))
        _COMPILED[id(ctx.lex)] = got
    return got[1]  # type: ignore[return-value]


def find_personal_data(doc: Doc, ctx: Context) -> list[PersonalData]:
    """Personal data in ``doc``, most sensitive first (the council's own details excluded)."""
    has_at = b"@" in doc.sig
    digits = doc.digits()
    if not has_at and digits < 2:
        return []
    text = doc.norm.text
    comp = _compiled(ctx)
    found: list[PersonalData] = []
    if has_at:
        for m in _EMAIL.finditer(text):
            email = m.group().rstrip(".")
            domain = email.rsplit("@", 1)[1]
            if (
                email in ctx.own_emails
                or domain_in(domain, ctx.own_domains)
                or domain_in(domain, ctx.partner_domains)
            ):
                continue
            found.append(PersonalData("email_address", m.start(), m.start() + len(email)))
    taken: list[tuple[int, int]] = []
    if digits >= 10:
        for m in _PHONE.finditer(text):
            raw_number = m.group()
            plain = re.sub(r"\D", "", raw_number)
            national = digits_of(raw_number)
            if raw_number.startswith(("+", "00")) or plain.startswith("0"):
                if len(national) not in (10, 11) or not national.startswith("0"):
                    continue
                if national in ctx.own_phones or national.startswith(comp.org_prefixes):
                    continue
                if not national.startswith(("01", "02", "07")):
                    continue
                found.append(PersonalData("phone_number", m.start(), m.end()))
                taken.append(m.span())
            elif len(plain) == 10 and _nhs_valid(plain):
                spaced = re.fullmatch(r"\d{3}[ -]\d{3}[ -]\d{4}", raw_number) is not None
                if spaced or "nhs" in doc.toks:
                    found.append(PersonalData("nhs_number", m.start(), m.end()))
                    taken.append(m.span())
    if digits >= 6:
        for m in _NINO.finditer(text):
            found.append(PersonalData("ni_number", m.start(), m.end()))
    # An address needs a street word ("Road", "Close"...): a set test before two regexes.
    if digits >= 3 and not comp.street_words.isdisjoint(doc.toks):
        postcodes = [
            m
            for m in _POSTCODE.finditer(text)
            if (m.group(1) + m.group(2)) not in ctx.own_postcodes
        ]
        if postcodes:
            for h in comp.house.finditer(text):
                after = [p for p in postcodes if p.start() >= h.end() and p.start() - h.end() < 80]
                if after:
                    found.append(PersonalData("address", h.start(), after[0].end()))
                    break
    if digits >= 4 and not comp.case_words.isdisjoint(doc.toks):
        for m in comp.case_ref.finditer(text):
            if any(a <= m.start(1) < b for a, b in taken):
                continue
            if comp.name.search(doc.item.text):
                found.append(PersonalData("case_reference", m.start(), m.end()))
                break
    found.sort(key=lambda p: (SENSITIVITY[p.kind], p.start))
    return found


def evidence(doc: Doc, ctx: Context, found: list[PersonalData]) -> tuple[str, tuple[int, int]]:
    """Evidence text for the most sensitive piece, naming how many others there are."""
    top = found[0]
    quote, span = ctx.quote_norm_span(doc, top.start, top.end)
    quote = " ".join(quote.split())
    more = f" (+{len(found) - 1} more)" if len(found) > 1 else ""
    return f'{LABELS[top.kind]} "{quote}"{more}', span
