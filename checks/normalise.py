"""Text normalisation for matching, with a map back to the original text.

People dodge filters with look-alike letters (Cyrillic "а" for "a"), fullwidth or
mathematical letters ("𝐟𝐫𝐞𝐞"), zero-width characters and spaced-out words ("f u c k",
"F.R.E.E"). Rules match the normalised text; evidence quotes the original, so every
normalised character remembers where it came from.

Steps, in order: Unicode NFKC per character; zero-width and soft-hyphen removal; accents
stripped and look-alike letters folded to ASCII; lower case; runs of three or more single
letters separated by one or two spaces/dots/dashes/stars joined into one word.

Most social-media text is ASCII and has no spaced-out letters; that path is a single
``str.lower()`` with an identity offset map, which is what keeps the checks fast.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["Normalised", "analyse", "normalise", "tokens", "TOKEN_RE"]

# Zero-width and invisible formatting characters, deleted outright.
_INVISIBLE = (
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200c\u200d\u200e\u200f"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2061\u2062\u2063\u2064\u2066\u2067\u2068"
    "\u2069\u206a\u206b\u206c\u206d\u206e\u206f\u3164\ufe00\ufe01\ufe02\ufe03\ufe04"
    "\ufe05\ufe06\ufe07\ufe08\ufe09\ufe0a\ufe0b\ufe0c\ufe0d\ufe0e\ufe0f\ufeff\uffa0"
)

# Look-alike letters that NFKC leaves alone: Cyrillic, Greek and a few Latin oddities,
# mapped to the ASCII letter a reader sees. Upper and lower case both fold to lower.
_CONFUSABLES = {
    # Cyrillic
    "а": "a",
    "в": "b",
    "е": "e",
    "ё": "e",
    "к": "k",
    "м": "m",
    "н": "h",
    "о": "o",
    "р": "p",
    "с": "c",
    "т": "t",
    "у": "y",
    "х": "x",
    "ѕ": "s",
    "і": "i",
    "ї": "i",
    "ј": "j",
    "ԁ": "d",
    "ɡ": "g",
    "һ": "h",
    "ӏ": "l",
    "ԛ": "q",
    "ԝ": "w",
    "ь": "b",
    "г": "r",
    "п": "n",
    "ш": "w",
    "А": "a",
    "В": "b",
    "Е": "e",
    "Ё": "e",
    "К": "k",
    "М": "m",
    "Н": "h",
    "О": "o",
    "Р": "p",
    "С": "c",
    "Т": "t",
    "У": "y",
    "Х": "x",
    "Ѕ": "s",
    "І": "i",
    "Ї": "i",
    "Ј": "j",
    "Ԁ": "d",
    "Һ": "h",
    "Ӏ": "l",
    "Ԛ": "q",
    "Ԝ": "w",
    # Greek
    "α": "a",
    "β": "b",
    "ε": "e",
    "η": "n",
    "ι": "i",
    "κ": "k",
    "ν": "v",
    "ο": "o",
    "ρ": "p",
    "τ": "t",
    "υ": "u",
    "χ": "x",
    "ω": "w",
    "ς": "s",
    "μ": "u",
    "Α": "a",
    "Β": "b",
    "Ε": "e",
    "Ζ": "z",
    "Η": "h",
    "Ι": "i",
    "Κ": "k",
    "Μ": "m",
    "Ν": "n",
    "Ο": "o",
    "Ρ": "p",
    "Τ": "t",
    "Υ": "y",
    "Χ": "x",
    # Latin look-alikes and ligatures NFKC keeps
    "ı": "i",
    "ȷ": "j",
    "ƒ": "f",
    "ɓ": "b",
    "ƙ": "k",
    "ɱ": "m",
    "ɲ": "n",
    "ʂ": "s",
    "ʐ": "z",
    "ł": "l",
    "Ł": "l",
    "ø": "o",
    "Ø": "o",
    "đ": "d",
    "Đ": "d",
    "ð": "d",
    "þ": "th",
    "æ": "ae",
    "Æ": "ae",
    "œ": "oe",
    "Œ": "oe",
    "ß": "ss",
    "ɑ": "a",
    "ɩ": "i",
    "ʀ": "r",
    "ꜱ": "s",
    "ᴀ": "a",
    "ʙ": "b",
    "ᴄ": "c",
    "ᴅ": "d",
    "ᴇ": "e",
    "ғ": "f",
    "ɢ": "g",
    "ʜ": "h",
    "ɪ": "i",
    "ᴊ": "j",
    "ᴋ": "k",
    "ʟ": "l",
    "ᴍ": "m",
    "ɴ": "n",
    "ᴏ": "o",
    "ᴘ": "p",
    "ǫ": "q",
    "ᴛ": "t",
    "ᴜ": "u",
    "ᴠ": "v",
    "ᴡ": "w",
    "ʏ": "y",
    "ᴢ": "z",
    # Punctuation people type on phones
    "\u2018": "'",
    "\u2019": "'",
    "\u201b": "'",
    "\u2032": "'",
    "\u02bc": "'",
    "\u00b4": "'",
    "`": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u201e": '"',
    "\u2033": '"',
    "\u2010": "-",
    "\u2011": "-",
    "\u2012": "-",
    "\u2013": "-",
    "\u2014": "-",
    "\u2015": "-",
    "\u2212": "-",
    "\u00a0": " ",
    "\u2022": "*",
    "\u00b7": "*",
}


def _fold_char_uncached(ch: str) -> str:
    if ch in _INVISIBLE:
        return ""
    if ch in _CONFUSABLES:
        return _CONFUSABLES[ch]
    out = []
    for c in unicodedata.normalize("NFKC", ch):
        if c in _INVISIBLE:
            continue
        if c in _CONFUSABLES:
            out.append(_CONFUSABLES[c])
            continue
        if not c.isascii():
            # strip accents: é -> e; keep the character when it is not a decorated letter
            base = "".join(
                b for b in unicodedata.normalize("NFD", c) if not unicodedata.combining(b)
            )
            c = base if base else ""
            c = "".join(_CONFUSABLES.get(b, b) for b in c)
        out.append(c.lower())
    return "".join(out)


@functools.lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    # Fold to a fixpoint so that normalising twice changes nothing more (Ð → ð → d).
    out = _fold_char_uncached(ch)
    for _ in range(3):
        again = "".join(_fold_char_uncached(c) if not c.isascii() else c for c in out)
        if again == out:
            break
        out = again
    return out


# Characters that force the careful path: anything non-ASCII that is not plainly a letter
# or symbol left as it is. Built once as a regex class for a fast scan.
# Emoji variation selectors (U+FE00-FE0F) are left alone: they are never part of a token,
# and "❤️" is far too common to send every such text down the careful path.
_NEEDS_FOLD = re.compile(
    "["
    + re.escape(
        "".join(
            sorted((set(_INVISIBLE) | set(_CONFUSABLES)) - {chr(c) for c in range(0xFE00, 0xFE10)})
        )
    )
    + "\u0300-\u036f\u00c0-\u024f\uff00-\uffef\U0001d400-\U0001d7ff\u2100-\u214f\u2460-\u24ff"
    "\u1d00-\u1dbf\u0250-\u02af\u0370-\u03ff\u0400-\u04ff]"
)

# Three or more single letters separated by 1-2 spaces, dots, dashes, underscores or stars.
_SPACED = re.compile(r"(?<![^\W_])[^\W\d_](?:[ .\-*_]{1,2}[^\W\d_](?![^\W_])){2,}")
_SPACED_SEP = re.compile(r"[ .\-*_]")

# Single letters whose presence (two distinct ones) makes spaced-out words possible.
SINGLES = frozenset("bcdefghjklmnopqrstuvwxyz")

# Tokens: runs of letters/digits, keeping '@' (handles), '#' (hashtags) and '*' (masked
# swear words); apostrophes vanish so "don't" is "dont".
_ASCII_TOKEN_TABLE = {ord(c): " " for c in '!"$%&()+,-./:;<=>?[\\]^_`{|}~'}
_ASCII_TOKEN_TABLE[ord("'")] = None
_ASCII_TOKEN_TABLE.update({c: " " for c in range(0, 32)})
TOKEN_RE = re.compile(r"(?:[^\W_]|[@#*])+")
# The same table over bytes: bytes.translate is several times faster than str.translate.
ASCII_TOKEN_BYTES = bytes(
    32 if (c < 32 or chr(c) in '!"$%&()+,-./:;<=>?[\\]^_`{|}~') else c for c in range(256)
)


class Normalised:
    """A normalised text.

    Attributes:
        text: the normalised text (lower case, folded).
        offsets: for each character of ``text``, the index of the original character it came
            from; None when the map is the identity.
        original: the original text.
    """

    __slots__ = ("text", "offsets", "original")

    def __init__(self, text: str, offsets: tuple[int, ...] | None, original: str) -> None:
        self.text = text
        self.offsets = offsets
        self.original = original

    def __repr__(self) -> str:
        return f"Normalised({self.text!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Normalised) and (self.text, self.offsets, self.original) == (
            other.text,
            other.offsets,
            other.original,
        )

    __hash__ = None  # type: ignore[assignment]

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the original text that produced ``text[start:end]``."""
        if self.offsets is None:
            return start, end
        if start >= end:
            pos = self.offsets[start] if start < len(self.offsets) else len(self.original)
            return pos, pos
        first = self.offsets[start]
        last = self.offsets[end - 1]
        # A folded character can come from a run of original characters (e.g. a letter
        # followed by a combining accent, or an NFKC expansion); take the whole run.
        stop = last + 1
        nxt = self.offsets[end] if end < len(self.offsets) else len(self.original)
        while stop < nxt and _fold_char(self.original[stop]) == "":
            stop += 1
        return first, stop

    def quote(self, start: int, end: int) -> str:
        """The original text behind ``text[start:end]``."""
        a, b = self.original_span(start, end)
        return self.original[a:b]


_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]+")


def _careful(text: str) -> tuple[str, list[int]]:
    # ASCII runs only need lower(); the non-ASCII runs (an emoji, an accented letter, a
    # look-alike word) are folded character by character, remembering where each came from.
    out: list[str] = []
    offsets: list[int] = []
    pos = 0
    for m in _NON_ASCII_RUN.finditer(text):
        a, b = m.span()
        if a > pos:
            out.append(text[pos:a].lower())
            offsets.extend(range(pos, a))
        for i in range(a, b):
            folded = _fold_char(text[i])
            if folded:
                out.append(folded)
                offsets.extend([i] * len(folded))
        pos = b
    if pos < len(text):
        out.append(text[pos:].lower())
        offsets.extend(range(pos, len(text)))
    return "".join(out), offsets


def _unspace(text: str, offsets: list[int] | None) -> tuple[str, list[int] | None]:
    if offsets is None:
        offsets = list(range(len(text)))
    pieces: list[str] = []
    new_offsets: list[int] = []
    pos = 0
    for m in _SPACED.finditer(text):
        a, b = m.span()
        pieces.append(text[pos:a])
        new_offsets.extend(offsets[pos:a])
        for j in range(a, b):
            if _SPACED_SEP.match(text[j]) is None:
                pieces.append(text[j])
                new_offsets.append(offsets[j])
        pos = b
    pieces.append(text[pos:])
    new_offsets.extend(offsets[pos:])
    return "".join(pieces), new_offsets


def normalise(text: str) -> Normalised:
    """Normalise ``text`` for matching.

    Args:
        text: any text, as the platform returned it.

    Returns:
        A `Normalised` whose ``text`` is matched by the rules and whose offsets lead back to
        the original characters for evidence.
    """
    return analyse(text)[0]


def analyse(text: str) -> tuple[Normalised, list[str]]:
    """Normalise ``text`` and split it into tokens in one pass (the rules' hot path).

    Returns:
        The `Normalised` text and its tokens (see `tokens`).
    """
    if text.isascii() or (
        unicodedata.is_normalized("NFKC", text) and _NEEDS_FOLD.search(text) is None
    ):
        norm = text.lower()
        offsets: list[int] | None = None
        if len(norm) != len(text):  # a non-ASCII letter whose lower case is longer
            norm, offsets = _careful(text)
    else:
        norm, offsets = _careful(text)
    toks = tokens(norm)
    # Spaced-out words need at least two distinct isolated letters: a cheap set test
    # before the regex. Tokens keep "*" (masked swear words), so letters spaced out with
    # stars ("i*d*i*o*t") are looked for among the tokens of the text without them.
    singles = toks if "*" not in norm else tokens(norm.replace("*", " "))
    if (
        not SINGLES.isdisjoint(singles)
        and len(SINGLES.intersection(singles)) >= 2
        and _SPACED.search(norm) is not None
    ):
        norm, offsets = _unspace(norm, offsets)
        toks = tokens(norm)
    return Normalised(norm, tuple(offsets) if offsets is not None else None, text), toks


def tokens(norm: str) -> list[str]:
    """Split normalised text into tokens (see `TOKEN_RE`)."""
    if norm.isascii():
        return norm.encode("ascii").translate(ASCII_TOKEN_BYTES, b"'").decode("ascii").split()
    if _NON_ASCII_WORD.search(norm) is None:
        # Only emoji and symbols outside ASCII: they separate tokens as punctuation does.
        return (
            _NON_ASCII_RUN.sub(" ", norm)
            .encode("ascii")
            .translate(ASCII_TOKEN_BYTES, b"'")
            .decode("ascii")
            .split()
        )
    return TOKEN_RE.findall(norm.replace("'", ""))


_NON_ASCII_WORD = re.compile(r"[^\W\x00-\x7f]")  # a non-ASCII letter or digit
