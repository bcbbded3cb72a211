"""The normaliser folds disguises away while evidence still quotes the original text."""

import functools
import string
from datetime import UTC, datetime

from hypothesis import given, settings
from hypothesis import strategies as st

from checks.context import Context, analyse_item
from checks.matcher import expand, leet_variants
from checks.normalise import TOKEN_RE, analyse, normalise, tokens
from kernel.config import Settings
from kernel.items import Item


def test_folds_disguises():
    assert normalise("ＦＲＥＥ").text == "free"  # fullwidth (NFKC)
    assert normalise("ѕсаm").text == "scam"  # Cyrillic look-alikes
    assert normalise("no\u200bbody").text == "nobody"  # zero-width space
    assert normalise("café").text == "cafe"
    assert normalise("f u c k off").text == "fuck off"
    assert normalise("F.R.E.E money").text == "free money"
    assert normalise("don’t").text == "don't"
    assert tokens(normalise("don’t").text) == ["dont"]


def test_quote_returns_the_original_characters():
    n = normalise("Hey ѕ с u m, f u c k off")
    start = n.text.index("scum")
    assert n.quote(start, start + 4) == "ѕ с u m"
    start = n.text.index("fuck")
    assert n.quote(start, start + 4) == "f u c k"


def test_brace_expansion_and_leet():
    assert expand("vote {for,against} it") == ["vote for it", "vote against it"]
    assert {"sh1t", "5hit"} <= leet_variants("shit")


texts = st.text(
    alphabet=st.characters(codec="utf-8", categories=("L", "M", "N", "P", "S", "Z", "Cf")),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_offsets_point_into_the_original_in_order(text):
    n = normalise(text)
    if n.offsets is None:
        assert len(n.text) == len(text)
    else:
        assert len(n.offsets) == len(n.text)
        assert list(n.offsets) == sorted(n.offsets)
        assert all(0 <= o < len(text) for o in n.offsets)
    a, b = n.original_span(0, len(n.text))
    assert 0 <= a <= b <= len(text)


@settings(max_examples=300, deadline=None)
@given(texts)
def test_normalising_twice_changes_nothing_more(text):
    once = normalise(text).text
    assert normalise(once).text == once


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable, max_size=80))
def test_ascii_fast_path_tokenises_like_the_general_one(text):
    norm, toks = analyse(text)
    assert toks == TOKEN_RE.findall(norm.text.replace("'", ""))


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=string.ascii_lowercase + " ", max_size=40),
    st.sampled_from(["\u200b", "\u200d", "\ufeff", "\u00ad"]),
)
def test_invisible_characters_never_change_the_match(text, invisible):
    spiked = invisible.join(text)
    assert normalise(spiked).text == normalise(text).text


@functools.lru_cache(maxsize=1)
def _context():
    return Context(Settings(), datetime(2025, 1, 1, tzinfo=UTC))


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.printable, max_size=80))
def test_the_inlined_item_path_agrees_with_analyse(text):
    ctx = _context()
    item = Item(
        "facebook",
        "1",
        "comment",
        "a",
        "u",
        "U",
        False,
        "p",
        "p",
        datetime(2025, 1, 1, tzinfo=UTC),
        text,
    )
    doc = analyse_item(item, ctx)
    norm, toks = analyse(text)
    assert (doc.norm.text, doc.toks) == (norm.text, toks)
