"""Lexicon loading and the token matcher every rule shares.

A lexicon is a YAML file of named lists (checks/lexicons/<family>.yml, or a file named in
the configuration's ``lexicons`` section). Entries are phrases; ``{a,b}`` expands to
alternatives (``fuck{,s,ing}`` → fuck, fucks, fucking). Each phrase is normalised and
tokenised exactly like the text it is matched against.

Matching does not use regular-expression alternations (a 500-term alternation runs at about
14,000 texts/s). Every phrase is indexed under one of its tokens (an uncommon one, from the
least crowded bucket) and, for longer phrases, a second token at a fixed offset; one C-level set
intersection between the text's tokens and the index keys finds the candidates, and only
those are checked for the full phrase. Almost all texts leave the intersection empty.
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from checks.normalise import Normalised, normalise, tokens

__all__ = ["Matcher", "expand", "leet_variants", "load_family", "locate", "FAMILIES"]

FAMILIES = (
    "advertising",
    "spam",
    "political",
    "personal_data",
    "profanity",
    "abuse",
    "safeguarding",
    "foi",
    "needs_reply",
)

_BRACES = re.compile(r"\{([^{}]*)\}")


# Digits and symbols used for letters ("sh1t", "b@stard", "fvck").
_LEET = {"a": "4@", "e": "3", "i": "1", "o": "0", "s": "5", "u": "v", "t": "7"}


@functools.lru_cache(maxsize=1)
def _frequent() -> tuple[frozenset[str], frozenset[str]]:
    """Frequent words (lexicons/frequent_words.yml): never a phrase's key if avoidable."""
    data = yaml.safe_load(default_path("frequent_words").read_text(encoding="utf-8"))
    top = frozenset(str(data["top"]).split())
    return top, top | frozenset(str(data["common"]).split())


class LexiconError(ValueError):
    """A lexicon file that cannot be read or has the wrong shape; names the file."""


def expand(phrase: str) -> list[str]:
    """Expand ``{a,b}`` alternatives: ``"vote {for,against}"`` → two phrases."""
    parts = _BRACES.split(phrase)
    if len(parts) == 1:
        return [phrase]
    fixed = parts[0::2]
    choices = [p.split(",") for p in parts[1::2]]
    out = []
    for combo in itertools.product(*choices):
        text = fixed[0]
        for alt, rest in zip(combo, fixed[1:]):
            text += alt + rest
        out.append(" ".join(text.split()))
    return out


def leet_variants(word: str) -> set[str]:
    """Spellings of a single word with digits for letters: each letter kind alone, then all."""
    out = set()
    for letter, subs in _LEET.items():
        if letter in word:
            for sub in subs:
                out.add(word.replace(letter, sub))
    allsub = word
    for letter, subs in _LEET.items():
        if letter in ("t", "u"):
            continue
        allsub = allsub.replace(letter, subs[0])
    out.add(allsub)
    out.discard(word)
    return out


def phrase_tokens(phrase: str) -> tuple[str, ...]:
    """A phrase as the tuple of tokens it must match."""
    return tuple(tokens(normalise(phrase).text))


@functools.lru_cache(maxsize=64)
def _read_yaml(path: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise LexiconError(f"{path}: cannot read lexicon: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise LexiconError(f"{path}: not valid YAML: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise LexiconError(f"{path}: a lexicon must map list names to lists of phrases")
    for key, value in data.items():
        if isinstance(value, list) and not all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value
        ):
            raise LexiconError(
                f"{path}: {key}: every entry must be a phrase "
                "(quote words YAML reads as true/false, such as no, yes, on, off)"
            )
    return data


def default_path(family: str) -> Path:
    """The lexicon shipped with the package for ``family``."""
    return Path(str(resources.files("checks") / "lexicons" / f"{family}.yml"))


def lexicon_path(family: str, settings: Any | None) -> Path:
    """Where ``family`` is read from: the configured file, the configured directory, or
    the shipped default."""
    if settings is not None:
        lex = settings.lexicons
        configured = getattr(lex, family, None)
        if configured:
            return settings.resolve_path(str(configured))
        if lex.directory:
            candidate = settings.resolve_path(lex.directory) / f"{family}.yml"
            if candidate.exists():
                return candidate
    return default_path(family)


def load_family(family: str, settings: Any | None = None) -> dict[str, Any]:
    """Read one lexicon family as a mapping of list names to lists (or scalars)."""
    return _read_yaml(str(lexicon_path(family, settings)))


class Matcher:
    """All phrase lists of all families, matched together.

    Args:
        lists: list name ("family.list") → phrases; names in ``leet`` also match
            look-alike-digit spellings of their single-word entries.
    """

    def __init__(self, lists: Mapping[str, Iterable[str]], leet: Iterable[str] = ()) -> None:
        leet = set(leet)
        top, common = _frequent()
        # key token -> names of the single-token phrases equal to it
        singles: dict[str, list[str]] = {}
        # key token -> (offset, token at that offset) -> [(name, phrase, key index)]
        anchored: dict[str, dict[tuple[int, str], list[tuple[str, tuple[str, ...], int]]]] = {}
        seen: set[tuple[str, tuple[str, ...]]] = set()
        load: dict[str, int] = {}

        # Key choice: an uncommon token, then a bucket that is not crowded, then the longest.
        def rank(var: tuple[str, ...], i: int) -> tuple[bool, bool, bool, int, int]:
            tok = var[i]
            return (tok in top, tok in common, load.get(tok, 0) > 8, -len(tok), -i)

        for name, phrases in lists.items():
            for raw in phrases:
                for phrase in expand(str(raw)):
                    toks = phrase_tokens(phrase)
                    if not toks:
                        continue
                    variants = {toks}
                    if name in leet and len(toks) == 1:
                        variants |= {(v,) for v in leet_variants(toks[0])}
                    for var in variants:
                        if (name, var) in seen:
                            continue
                        seen.add((name, var))
                        k = min(range(len(var)), key=lambda i: rank(var, i))
                        load[var[k]] = load.get(var[k], 0) + 1
                        if len(var) == 1:
                            singles.setdefault(var[0], []).append(name)
                            continue
                        # A second token, at a fixed offset from the key, narrows the
                        # candidates to the phrases that can still match.
                        j = min((i for i in range(len(var)) if i != k), key=lambda i: rank(var, i))
                        anchored.setdefault(var[k], {}).setdefault((j - k, var[j]), []).append(
                            (name, var, k)
                        )
        self._singles = singles
        self._anchored = anchored
        self._offsets = {key: tuple(sorted({d for d, _ in sub})) for key, sub in anchored.items()}
        # The second tokens of a key's phrases: when the text has none of them, no phrase
        # under that key can match (one C-level set test instead of a walk).
        self._partners = {key: frozenset(t for _, t in sub) for key, sub in anchored.items()}
        self.keys = frozenset(singles) | frozenset(anchored)
        self.size = len(seen)

    def scan(self, toks: list[str]) -> dict[str, list[tuple[int, tuple[str, ...]]]]:
        """Every phrase found in ``toks``: list name → [(first token index, phrase)]."""
        hits = self.keys.intersection(toks)
        if not hits:
            return _EMPTY
        out: dict[str, list[tuple[int, tuple[str, ...]]]] = {}
        n = len(toks)
        singles, anchored, offsets = self._singles, self._anchored, self._offsets
        partners = self._partners
        for key in hits:
            names = singles.get(key)
            sub = anchored.get(key)
            if sub is not None and partners[key].isdisjoint(toks):
                if not names:
                    continue
                sub = None
            pos = -1
            for _ in range(toks.count(key)):
                pos = toks.index(key, pos + 1)
                if names:
                    for name in names:
                        out.setdefault(name, []).append((pos, (key,)))
                if sub:
                    for d in offsets[key]:
                        j = pos + d
                        if 0 <= j < n:
                            entries = sub.get((d, toks[j]))
                            if entries:
                                for name, phrase, k in entries:
                                    start = pos - k
                                    size = len(phrase)
                                    if (
                                        start >= 0
                                        and start + size <= n
                                        and (
                                            size == 2 or tuple(toks[start : start + size]) == phrase
                                        )
                                    ):
                                        out.setdefault(name, []).append((start, phrase))
        return out


_EMPTY: dict[str, list[tuple[int, tuple[str, ...]]]] = {}

_SEP = r"(?:[^\w@#*]|_)+"
_TOKEN_CHAR_BEFORE = r"(?<![^\W_])(?<![@#*])"
_TOKEN_CHAR_AFTER = r"(?![^\W_])(?![@#*])"


@functools.lru_cache(maxsize=4096)
def _phrase_pattern(phrase: tuple[str, ...], strict: bool) -> re.Pattern[str]:
    # Apostrophes were dropped from tokens ("dont"); let them back in between letters.
    parts = ["'*".join(re.escape(c) for c in tok) for tok in phrase]
    body = _SEP.join(parts)
    if strict:
        body = _TOKEN_CHAR_BEFORE + body + _TOKEN_CHAR_AFTER
    return re.compile(body)


def locate(norm: Normalised, phrase: tuple[str, ...]) -> tuple[int, int] | None:
    """The span of the original text where ``phrase`` was matched, or None."""
    m = _phrase_pattern(phrase, True).search(norm.text) or _phrase_pattern(phrase, False).search(
        norm.text
    )
    if m is None:
        return None
    return norm.original_span(*m.span())
