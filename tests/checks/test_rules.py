"""Each rule: positives and hard negatives side by side, as the comms team would read them."""

from datetime import UTC, datetime

import pytest

from kernel.config import settings_from_dict
from tests.checks.checks_helpers import AS_OF, make, rules_for

# -- third-party advertising ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Loving our new look? #ad",
        "This competition is sponsored by Acme Crisps",
        "Paid partnership with @BigBrandCoffee",
        "Thanks to @BigBrandCoffee for the free drinks!",
        "In partnership with Tesco we are giving away 100 hampers",
        "Use code SPRING20 for 20% off your order",
        "Grab yours here https://amzn.to/3xYzAbc",
        "Our picks: www.awin1.com/cread.php?awinmid=1",
    ],
)
def test_sponsored_post_positive(text):
    f = rules_for(make(text, own=True, kind="post"))["third_party_advertising.sponsored_post"]
    assert f.severity == "high" and f.route == "comms"
    assert f.evidence_span is not None
    assert text[f.evidence_span[0] : f.evidence_span[1]] in f.evidence


@pytest.mark.parametrize(
    "text",
    [
        "Thanks to everyone who came to the fair",
        "In partnership with Thames Valley Police we are running a bike-marking day",
        "Thanks to @ThamesVP for their help at the weekend",
        "Huge thanks to @BracknellNHS and the library volunteers",
        "Book now for the summer reading challenge at your local library",
        "Find out more at https://www.bracknell-forest.gov.uk/bins",
        "Brought to you by Bracknell Forest Council",
    ],
)
def test_council_and_partner_promotion_is_not_advertising(text, council_settings):
    got = rules_for(make(text, own=True, kind="post"), council_settings)
    assert "third_party_advertising.sponsored_post" not in got


def test_platform_flags_name_the_sponsor(council_settings):
    paid = make(
        "Our summer event",
        own=True,
        kind="post",
        flags={"paid_partnership": True, "sponsor": {"name": "Acme Crisps"}},
    )
    f = rules_for(paid, council_settings)["third_party_advertising.sponsored_post"]
    assert "paid_partnership" in f.evidence and "Acme Crisps" in f.evidence
    placement = make(
        "Video", own=True, kind="post", platform="youtube", flags={"paid_product_placement": True}
    )
    assert "third_party_advertising.sponsored_post" in rules_for(placement)
    tags = make(
        "Event",
        own=True,
        kind="post",
        flags={"sponsor_tags": [{"name": "Acme"}], "promotion_status": "active"},
    )
    assert "promotion_status" in rules_for(tags)["third_party_advertising.sponsored_post"].evidence
    partner = make(
        "Event",
        own=True,
        kind="post",
        flags={"paid_partnership": True, "sponsor": "Thames Valley Police"},
    )
    assert "third_party_advertising.sponsored_post" not in rules_for(partner, council_settings)
    boosted = make("Our own event", own=True, kind="post", flags={"promotion_status": "active"})
    assert "third_party_advertising.sponsored_post" not in rules_for(boosted)


@pytest.mark.parametrize(
    "text",
    [
        "Check out my channel for daily videos!!",
        "Earn money from home, DM me for details",
        "I made £5000 with bitcoin trading signals, whatsapp me",
        "FREE iPhone giveaway click the link in my bio",
    ],
)
def test_comment_spam_positive(text):
    assert "third_party_advertising.comment_spam" in rules_for(make(text))


@pytest.mark.parametrize(
    "text",
    [
        "Is the free parking at the leisure centre still on?",
        "I shared this with my neighbours, great news",
        "Where can I find the planning application? I looked on www.bracknell-forest.gov.uk",
        "Love this channel of communication with residents",
    ],
)
def test_comment_spam_hard_negative(text, council_settings):
    assert "third_party_advertising.comment_spam" not in rules_for(make(text), council_settings)


# -- off brand ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Vote Labour on Thursday!",
        "Great to see the Conservative councillors backing this",
        "Our Lib Dem team delivered this",
        "Get Brexit done",
        "Vote for Sarah Jones on 1 May",
    ],
)
def test_political_positive(text):
    f = rules_for(make(text, own=True, kind="post"))["off_brand.political"]
    assert f.severity == "medium"


@pytest.mark.parametrize(
    "text",
    [
        "Polling stations are open 7am to 10pm on Thursday 1 May",
        "Register to vote by 14 April to have your say",
        "Vote for your favourite park in the Green Flag awards",
        "The labour market in the borough is strong",
        "A conservative estimate is 2,000 visitors",
        "Our green spaces are looking lovely this spring",
        "The statement of persons nominated is now published",
    ],
)
def test_neutral_election_admin_and_lookalikes_are_not_political(text):
    assert "off_brand.political" not in rules_for(make(text, own=True, kind="post"))


def test_political_is_more_severe_in_a_pre_election_period(council_settings):
    inside = make("Vote Labour!", own=True, kind="post", at="2025-04-10T10:00:00+01:00")
    f = rules_for(inside, council_settings, datetime(2025, 4, 11, tzinfo=UTC))[
        "off_brand.political"
    ]
    assert f.severity == "high" and "May 2025 local elections" in f.evidence
    politician = make(
        "Rishi Sunak visited our school", own=True, kind="post", at="2025-04-10T10:00:00+01:00"
    )
    got = rules_for(politician, council_settings, datetime(2025, 4, 11, tzinfo=UTC))
    assert got["off_brand.political"].severity == "medium"
    outside = make("Rishi Sunak visited our school", own=True, kind="post")
    assert rules_for(outside, council_settings)["off_brand.political"].severity == "low"


def test_political_rule_ignores_public_comments():
    assert "off_brand.political" not in rules_for(make("Vote Labour!"))


@pytest.mark.parametrize(
    "text,kind",
    [
        ("Hi Sam, call me on 07700 900123", "phone number"),
        ("Email jo.bloggs@gmail.com for the forms", "email address"),
        ("The resident at 12 Acacia Avenue, Bracknell RG12 9XX complained", "home address"),
        ("Hi Mrs Smith, your case ref is CR-123456", "case reference"),
        ("NI number AB 12 34 56 C", "National Insurance number"),
        ("NHS number 943 476 5919", "NHS number"),
    ],
)
def test_personal_data_in_council_posts(text, kind):
    f = rules_for(make(text, own=True, kind="comment"))["off_brand.personal_data"]
    assert f.severity == "high" and kind in f.evidence


@pytest.mark.parametrize(
    "text",
    [
        "Call us on 01344 352000 or email customer.services@bracknell-forest.gov.uk",
        "Visit us at Time Square, Market Street, Bracknell RG12 1JD",
        "Call Childline on 0800 1111 or the Samaritans on 116 123",
        "Our contact centre is on 0300 123 4567",
        "Over 1,200 homes in RG12 were surveyed in 2024",
        "Your reference is 12345",
    ],
)
def test_published_contact_details_and_numbers_are_not_personal_data(text, council_settings):
    got = rules_for(make(text, own=True, kind="post"), council_settings)
    assert "off_brand.personal_data" not in got


@pytest.mark.parametrize(
    "text",
    [
        "What the fuck is going on",
        "This is shit",
        "f u c k",
        "sh1t show",
        "ƒuck this",
        "F*CK",
        "#fuckoff",
    ],
)
def test_profanity_positive(text):
    assert "off_brand.profanity" in rules_for(make(text, own=True, kind="post"))


@pytest.mark.parametrize(
    "text",
    [
        "Welcome to visitors from Scunthorpe and Penistone",
        "Cockermouth flood defences",
        "Middlesex and Clitheroe",
        "Essex County Council",
        "Assessment centre",
        "The Shitterton sign",
    ],
)
def test_place_names_are_not_profanity(text):
    assert "off_brand.profanity" not in rules_for(make(text, own=True, kind="post"))


def test_house_style(council_settings):
    got = rules_for(
        make(
            "Bracknell Council supports service users. See eventbrite.co.uk/e/1",
            own=True,
            kind="post",
        ),
        council_settings,
    )
    assert 'should be "Bracknell Forest Council"' in got["off_brand.style.naming"].evidence
    assert "service users" in got["off_brand.style.banned_term"].evidence
    assert "eventbrite" in got["off_brand.style.link_domain"].evidence
    fine = rules_for(
        make(
            "Bracknell Forest Council: see https://www.gov.uk/register-to-vote",
            own=True,
            kind="post",
        ),
        council_settings,
    )
    assert not [r for r in fine if r.startswith("off_brand.style")]


# -- moderation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text,severity",
    [
        ("I know where you live", "high"),
        ("Someone should burn the council down", "high"),
        ("you're a complete idiot", "medium"),
        ("what a clown you are", "medium"),
        ("this is fucking ridiculous", "low"),
        ("ѕсum", "medium"),
    ],
)
def test_abuse_positive(text, severity):
    f = rules_for(make(text))["moderation.abuse"]
    assert f.severity == severity


@pytest.mark.parametrize(
    "text",
    [
        "I hate it when the bins are late",
        "Stupidly early start but worth it for the parkrun",
        "The pig racing at the country show was great",
        "Scunthorpe United won again",
        "This traffic is killing me",
    ],
)
def test_abuse_hard_negative(text):
    assert "moderation.abuse" not in rules_for(make(text))


def test_public_personal_data_is_moderated_but_private_messages_are_not():
    text = "My mobile is 07700 900123, please ring me"
    assert rules_for(make(text))["moderation.personal_data"].severity == "medium"
    assert "moderation.personal_data" not in rules_for(make(text, kind="message"))
    nino = rules_for(make("my NI number is AB123456C"))["moderation.personal_data"]
    assert nino.severity == "high"


# -- FOI ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "This is a Freedom of Information request: how many potholes were reported in 2024?",
        "FOI: please provide the total spend on agency staff last year",
        "Could you provide the number of fixed penalty notices issued in 2023?",
        "How much did the council spend on consultants for the leisure centre?",
        "I'd like to make a subject access request for all data you hold about me",
    ],
)
def test_foi_positive(text):
    f = rules_for(make(text))["foi_request.received"]
    assert f.route == "information_compliance" and f.severity == "medium"


@pytest.mark.parametrize(
    "text",
    [
        "How do I pay my council tax?",
        "When is the tip open on Sunday?",
        "Thanks for the information, very helpful",
        "Can you tell me when my bin will be emptied?",
    ],
)
def test_foi_hard_negative(text):
    assert "foi_request.received" not in rules_for(make(text))


def test_foi_due_is_twenty_working_days_excluding_every_uk_bank_holiday():
    # Received Thu 13 March 2025: St Patrick's Day (Mon 17 March, NI) is skipped;
    # day 20 is Friday 11 April, due at close of business (17:00 BST = 16:00 UTC).
    f = rules_for(
        make("FOI request: number of parking fines in 2024", at="2025-03-13T11:00:00+00:00")
    )["foi_request.received"]
    assert f.due_at == datetime(2025, 4, 11, 16, tzinfo=UTC)
    england_only = settings_from_dict({"business_hours": {"holiday_nations": ["ENG"]}})
    f = rules_for(
        make("FOI request: number of parking fines in 2024", at="2025-03-13T11:00:00+00:00"),
        england_only,
    )["foi_request.received"]
    assert f.due_at == datetime(2025, 4, 10, 16, tzinfo=UTC)


# -- safeguarding ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "I just want to end my life",
        "i cant go on anymore nobody would miss me",
        "My stepdad hits me and I'm scared to go home",
        "the kids next door are left home alone all weekend",
        "My partner threatened to kill me last night",
        "any young girls dm me",
        "I w a n t to k i l l myself",
    ],
)
def test_safeguarding_positive(text):
    item = make(text, at="2025-03-03T21:30:00+00:00")
    f = rules_for(item)["safeguarding.concern"]
    assert (f.severity, f.route) == ("high", "safeguarding_lead")
    assert f.due_at == item.created_at  # at once, even out of hours


@pytest.mark.parametrize(
    "text",
    [
        "Today is World Suicide Prevention Day: talk to someone",
        "This traffic is killing me",
        "I could kill for a coffee",
        "Domestic abuse helpline: 0808 2000 247",
        "Dying to see the new library!",
        "The children loved the park",
    ],
)
def test_safeguarding_hard_negative(text):
    assert "safeguarding.concern" not in rules_for(make(text))


def test_safeguarding_also_reads_private_messages():
    assert "safeguarding.concern" in rules_for(make("I want to kill myself", kind="message"))


# -- findings -------------------------------------------------------------------------------


def test_a_rerun_gives_the_same_findings_and_never_duplicates():
    items = [
        make("Vote Labour #ad", own=True, kind="post", id="p1"),
        make("you idiot, I will kill you, idiot", id="c1"),
    ]
    first = rules_for(items)
    second = rules_for(items + items)
    assert first == second
    assert len(first) == 3


def test_to_dict_is_the_contract():
    f = rules_for(make("I want to end my life"))["safeguarding.concern"]
    d = f.to_dict()
    assert list(d) == [
        "item_id",
        "platform",
        "category",
        "rule",
        "severity",
        "evidence",
        "route",
        "due_at",
        "detected_at",
    ]
    assert d["category"] == "safeguarding" and d["detected_at"] == AS_OF.isoformat()


def test_disabled_rules_are_skipped():
    s = settings_from_dict({"checks": {"disabled_rules": ["off_brand.style", "moderation"]}})
    got = rules_for([make("idiot"), make("see example.com", own=True, kind="post", id="p2")], s)
    assert not got


def test_items_posted_after_as_of_are_not_checked_yet():
    late = make("you idiot", at="2025-03-21T09:00:00+00:00")
    assert rules_for(late, as_of=datetime(2025, 3, 20, 12, tzinfo=UTC)) == {}
    assert "moderation.abuse" in rules_for(late, as_of=datetime(2025, 3, 22, tzinfo=UTC))


def test_a_configured_lexicon_replaces_the_shipped_one(tmp_path):
    from kernel.config import load_settings

    (tmp_path / "swears.yml").write_text("strong: [blimey]\nmasked: []\nmild: []\n")
    cfg = tmp_path / "c.yml"
    cfg.write_text("lexicons:\n  profanity: swears.yml\n")
    s = load_settings(cfg)
    assert "off_brand.profanity" in rules_for(make("Blimey!", own=True, kind="post"), s)
    assert "off_brand.profanity" not in rules_for(make("shit", own=True, kind="post"), s)
