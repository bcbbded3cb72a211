"""Unanswered public items and the responsiveness figures."""

import random
from datetime import UTC, datetime

import pytest

from checks import awaiting_reply, responsiveness, run_checks
from kernel.config import Settings
from tests.checks.checks_helpers import make, rules_for

POST = make(
    "Our new recycling centre opens on Monday",
    own=True,
    kind="post",
    id="p1",
    at="2025-03-03T09:00:00+00:00",
)
# Monday 3 March 2025, 10:00 UTC (GMT); target 8 business hours → due Tuesday 10:00.
QUESTION = make("What time does it open on Monday?", id="c1", at="2025-03-03T10:00:00+00:00")


def test_question_without_reply_breaches_when_the_target_falls():
    items = [POST, QUESTION]
    before = rules_for(items, as_of=datetime(2025, 3, 4, 9, 59, tzinfo=UTC))
    assert "unanswered.sla_breach" not in before
    after = rules_for(items, as_of=datetime(2025, 3, 4, 10, 1, tzinfo=UTC))
    f = after["unanswered.sla_breach"]
    assert f.due_at == datetime(2025, 3, 4, 10, tzinfo=UTC)
    assert f.route == "comms" and "question" in f.evidence


def test_a_council_reply_anywhere_later_in_the_thread_answers_it_in_any_order():
    reply = make("It opens at 8am", own=True, id="r1", at="2025-03-03T15:00:00+00:00")
    other = make("Me too!", id="c2", at="2025-03-03T14:00:00+00:00")
    items = [reply, other, QUESTION, POST]
    random.Random(1).shuffle(items)
    assert "unanswered.sla_breach" not in rules_for(items)


def test_a_reply_before_the_item_or_in_another_thread_does_not_count():
    earlier = make("Reminder: opening day", own=True, id="r0", at="2025-03-03T09:30:00+00:00")
    elsewhere = make("Answer", own=True, id="r9", root="p2", at="2025-03-03T11:00:00+00:00")
    assert "unanswered.sla_breach" in rules_for([POST, earlier, elsewhere, QUESTION])


def test_a_reply_after_as_of_is_not_known_yet():
    late = make("Sorry, 8am", own=True, id="r1", at="2025-03-10T10:00:00+00:00")
    assert "unanswered.sla_breach" in rules_for(
        [POST, QUESTION, late], as_of=datetime(2025, 3, 5, tzinfo=UTC)
    )


@pytest.mark.parametrize(
    "text",
    [
        "The bins on our road were not collected again",
        "Please can someone sort the pothole outside the school",
        "Street light out on Crossway for a week now",
        "I need to speak to someone about my council tax",
    ],
)
def test_complaints_requests_and_problem_reports_need_a_reply(text):
    assert "unanswered.sla_breach" in rules_for([POST, make(text, id="c3")])


def test_a_mention_addressed_to_the_council_is_a_question():
    mention = make(
        "@BracknellForest when will the library reopen",
        id="m1",
        kind="mention",
        platform="twitter",
        root="m1",
    )
    assert "unanswered.sla_breach" in rules_for([mention])


@pytest.mark.parametrize(
    "text",
    [
        "thanks!",
        "Brilliant, well done everyone 👏",
        "😍😍😍",
        "@sarah_j",
        "@sarah_j look at this",
        "@sarah_j did you see this?",
        "Lovely photo",
        "",
    ],
)
def test_thanks_praise_emoji_and_friend_tags_need_no_reply(text):
    assert "unanswered.sla_breach" not in rules_for([POST, make(text, id="c3")])


def test_weekend_does_not_count_towards_the_target():
    friday = make("Is the tip open tomorrow?", id="c4", at="2025-03-07T16:00:00+00:00")
    got = rules_for([POST, friday], as_of=datetime(2025, 3, 10, 15, 59, tzinfo=UTC))
    assert "unanswered.sla_breach" not in got  # due Monday 16:00
    got = rules_for([POST, friday], as_of=datetime(2025, 3, 10, 16, 1, tzinfo=UTC))
    assert got["unanswered.sla_breach"].due_at == datetime(2025, 3, 10, 16, tzinfo=UTC)


def test_awaiting_reply_lists_what_is_not_yet_due():
    got = awaiting_reply([POST, QUESTION], Settings(), datetime(2025, 3, 3, 12, tzinfo=UTC))
    assert [(a.item_id, a.due_at) for a in got] == [("c1", datetime(2025, 3, 4, 10, tzinfo=UTC))]


def test_responsiveness_per_channel():
    items = [POST]
    # Ten questions on Monday 10:00; the council answers nine of them after k business
    # hours (k = 1..9) and leaves the tenth.
    for k in range(1, 11):
        items.append(
            make(f"Question {k}?", id=f"q{k}", root=f"t{k}", at="2025-03-03T10:00:00+00:00")
        )
        if k < 10:
            hour = 10 + k if 10 + k < 17 else None
            at = (
                f"2025-03-03T{hour:02d}:00:00+00:00"
                if hour
                else f"2025-03-04T{9 + (10 + k - 17):02d}:00:00+00:00"
            )
            items.append(make("Answer", own=True, id=f"a{k}", root=f"t{k}", at=at))
    items.append(
        make("Question?", id="y1", root="t99", platform="youtube", at="2025-03-03T10:00:00+00:00")
    )
    rows = {
        r.platform: r for r in responsiveness(items, Settings(), datetime(2025, 3, 20, tzinfo=UTC))
    }
    fb = rows["facebook"]
    assert (fb.needing_reply, fb.replied, fb.overdue, fb.awaiting) == (10, 9, 1, 0)
    assert fb.reply_rate == pytest.approx(0.9)
    assert fb.median_first_response_hours == pytest.approx(5.0)
    assert fb.p90_first_response_hours == pytest.approx(9.0)
    assert fb.replied_within_target == 8
    yt = rows["youtube"]
    assert (yt.needing_reply, yt.replied, yt.reply_rate, yt.median_first_response_hours) == (
        1,
        0,
        0.0,
        None,
    )
    assert set(fb.to_dict()) >= {
        "reply_rate",
        "median_first_response_hours",
        "p90_first_response_hours",
    }


def test_council_items_never_need_a_reply():
    own_q = make("Have you seen our new website?", own=True, id="r1")
    assert not run_checks([POST, own_q], Settings(), datetime(2025, 4, 1, tzinfo=UTC))


def test_needs_reply_classifier_for_the_warehouse():
    from checks import needs_reply

    assert needs_reply("When is the tip open on Sunday?")
    assert needs_reply("The bins were not collected again")
    assert not needs_reply("thanks!")
    assert not needs_reply("@sarah_j did you see this?")
    assert needs_reply("@sarah_j did you see this?", kind="mention")
    assert not needs_reply("")
