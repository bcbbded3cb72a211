"""Property-based tests the checks' own suites do not have yet (tests/checks/ covers
offsets, idempotence, the ASCII fast path, invisible characters; add/between inverses,
additivity, monotonicity, working days landing on working days).

Normaliser: a disguise never changes what is matched — look-alike letters, fullwidth
forms, bidi controls anywhere, upper case, spaced-out letters — and an insult behind any
mix of disguises is still caught by the checks, with evidence quoting the original text.

Business time: a due time lands inside a business window; the same instant in any time
zone gives the same answers; an interval never holds more business time than its working
windows; a working-day deadline is exactly n working days after the day of receipt, at
the same wall-clock time.
"""

from __future__ import annotations

import string
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from checks import run_checks
from checks.normalise import _CONFUSABLES, normalise
from kernel.businesstime import (
    add_business_hours,
    add_working_days,
    business_hours_between,
    calendar,
    is_working_day,
)
from kernel.config import BusinessHours, Settings
from kernel.items import Item

# Look-alikes per ASCII letter, from the normaliser's own table (single letters only).
LOOKALIKES: dict[str, list[str]] = {}
for _glyph, _ascii in _CONFUSABLES.items():
    if len(_ascii) == 1 and _ascii in string.ascii_lowercase and len(_glyph) == 1:
        LOOKALIKES.setdefault(_ascii, []).append(_glyph)
BIDI = [
    "\u202a",
    "\u202b",
    "\u202c",
    "\u202d",
    "\u202e",
    "\u2066",
    "\u2067",
    "\u2068",
    "\u2069",
    "\u200e",
    "\u200f",
]
WORDS = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=12)
SENTENCES = st.lists(WORDS, min_size=1, max_size=8).map(" ".join)


def fullwidth(ch: str) -> str:
    return chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch


@settings(max_examples=200, deadline=None)
@given(SENTENCES, st.data())
def test_look_alike_letters_normalise_to_the_letters_they_imitate(text, data):
    disguised = "".join(
        data.draw(st.sampled_from(LOOKALIKES[ch]))
        if ch in LOOKALIKES and data.draw(st.booleans())
        else ch
        for ch in text
    )
    assert normalise(disguised).text == normalise(text).text


@settings(max_examples=200, deadline=None)
@given(SENTENCES, st.data())
def test_fullwidth_upper_case_and_bidi_controls_change_nothing(text, data):
    disguised = "".join(
        data.draw(st.sampled_from(["", *BIDI]))
        + (fullwidth(ch) if data.draw(st.booleans()) else ch.upper())
        for ch in text
    )
    assert normalise(disguised).text == normalise(text).text


@settings(max_examples=200, deadline=None)
@given(
    st.text(alphabet=string.ascii_lowercase, min_size=3, max_size=12),
    st.sampled_from([" ", ".", "-", "*", "_", "  ", ". "]),
)
def test_a_spaced_out_word_between_ordinary_words_is_joined(word, sep):
    # The normaliser joins single letters only when two different ones other than the
    # words "a" and "i" are among them (checks/normalise.py: "a i" stays two words).
    assume(len(set(word) - {"a", "i"}) >= 2)
    n = normalise(f"you are {sep.join(word)} today")
    assert n.text.split() == ["you", "are", word, "today"]
    start = n.text.index(word)
    assert n.quote(start, start + len(word)) == sep.join(word)  # evidence: the original


INSULTS = ["idiot", "moron", "scumbag", "imbecile"]


def disguise(word: str, data) -> str:
    out = []
    for ch in word:
        if ch in LOOKALIKES and data.draw(st.booleans()):
            ch = data.draw(st.sampled_from(LOOKALIKES[ch]))
        elif data.draw(st.booleans()):
            ch = fullwidth(ch)
        out.append(
            ch + data.draw(st.sampled_from(["", "", "\u200b", "\u200d", "\u00ad", "\u202c"]))
        )
    if data.draw(st.booleans()):
        out = [ch + " " for ch in out]  # spaced out as well
    return "".join(out).strip()


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(INSULTS), st.data())
def test_a_disguised_insult_aimed_at_someone_is_still_caught(word, data):
    text = f"you are such an {disguise(word, data)} honestly"
    item = Item(
        platform="facebook",
        id="c1",
        kind="comment",
        account="a",
        author_id="u",
        author_name="R",
        is_own=False,
        parent_id="p",
        root_id="p",
        created_at=datetime(2025, 3, 3, 10, tzinfo=UTC),
        text=text,
    )

    found = [
        f
        for f in run_checks([item], Settings(), datetime(2025, 3, 3, 12, tzinfo=UTC))
        if f.rule == "moderation.abuse"
    ]

    assert found, text
    span = found[0].evidence_span
    assert normalise(text[span[0] : span[1]]).text.replace(" ", "").startswith(word)


# --- business time --------------------------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2026, 12, 1), timezones=st.just(UTC)
)
CALENDARS = st.sampled_from(
    [
        BusinessHours(),
        BusinessHours(days=["mon", "tue", "wed", "thu", "fri", "sat"], start=time(8), end=time(20)),
        BusinessHours(timezone="America/New_York", holiday_nations=["ENG"]),
        BusinessHours(days=["sun"], start=time(0, 30), end=time(23, 30), holiday_nations=["SCT"]),
    ]
)
ZONES = st.sampled_from(
    ["UTC", "Europe/London", "Asia/Kolkata", "America/St_Johns", "Pacific/Chatham"]
)


@settings(max_examples=200, deadline=None)
@given(MOMENTS, st.floats(min_value=0.001, max_value=200, allow_nan=False), CALENDARS)
def test_a_due_time_lands_inside_a_business_window(start, hours, bh):
    due = add_business_hours(start, hours, bh)
    cal = calendar(bh)
    day = due.astimezone(cal.zone).date()
    opens, closes = cal.window(day)
    assert is_working_day(day, bh)
    assert opens < due <= closes


@settings(max_examples=200, deadline=None)
@given(MOMENTS, st.timedeltas(timedelta(0), timedelta(days=40)), CALENDARS, ZONES, ZONES)
def test_the_same_instants_in_any_time_zone_give_the_same_answers(a, span, bh, z1, z2):
    b = a + span
    here, there = ZoneInfo(z1), ZoneInfo(z2)
    assert business_hours_between(
        a.astimezone(here), b.astimezone(there), bh
    ) == business_hours_between(a, b, bh)
    hours = business_hours_between(a, b, bh)
    assert add_business_hours(a.astimezone(here), hours, bh) == add_business_hours(a, hours, bh)
    assert add_working_days(a.astimezone(here), 3, bh) == add_working_days(a, 3, bh)


@settings(max_examples=200, deadline=None)
@given(MOMENTS, st.timedeltas(timedelta(0), timedelta(days=30)), CALENDARS)
def test_an_interval_holds_no_more_than_its_working_windows(a, span, bh):
    b = a + span
    cal = calendar(bh)
    first, last = a.astimezone(cal.zone).date(), b.astimezone(cal.zone).date()
    windows = 0.0
    day = first
    while day <= last:
        if is_working_day(day, bh):
            opens, closes = cal.window(day)
            windows += (closes - opens).total_seconds() / 3600
        day += timedelta(days=1)
    assert 0 <= business_hours_between(a, b, bh) <= windows + 1e-9


@settings(max_examples=200, deadline=None)
@given(MOMENTS, st.integers(1, 45), CALENDARS)
def test_a_working_day_deadline_is_exactly_n_working_days_later_at_the_same_time(a, n, bh):
    due = add_working_days(a, n, bh)
    cal = calendar(bh)
    received = a.astimezone(cal.zone)
    counted = sum(
        1
        for k in range(1, (due.date() - received.date()).days + 1)
        if is_working_day(received.date() + timedelta(days=k), bh)
    )
    assert counted == n
    assert is_working_day(due.date(), bh)
    wall = due.replace(tzinfo=None).time()
    # The same wall-clock time, unless that time does not exist that day (a clock change).
    assume(datetime.combine(due.date(), received.time(), cal.zone).utcoffset() == due.utcoffset())
    assert wall == received.replace(tzinfo=None).time()


@pytest.mark.parametrize(
    "received, due",
    [
        # Maundy Thursday: Good Friday, Easter Monday and the early May bank holiday are skipped.
        (datetime(2025, 4, 17, 16, tzinfo=ZoneInfo("Europe/London")), date(2025, 5, 20)),
        # Christmas Eve: 25 and 26 December and 1 January are skipped, and so is 2 January, a
        # Scottish bank holiday, which the default (every UK nation) honours.
        (datetime(2025, 12, 24, 9, tzinfo=ZoneInfo("Europe/London")), date(2026, 1, 27)),
    ],
)
def test_foi_deadlines_over_bank_holidays(received, due):
    assert add_working_days(received, 20, BusinessHours()).date() == due
