"""Synthetic council social media, platform-neutral.

`generate_threads(...)` builds abstract threads: a council post (or, on X, a public
mention) with public comments and replies at several depths, the council's replies
(prompt, late and missing), edits, deletions, and examples of everything the compliance
checks look for. Each platform module in sandbox/ renders these threads as its
API's native objects (`render(threads, out_dir)`), so the four data sets tell one story.

Every message carries `label`, what the generator meant it to be, so tests and benches can
tell what a check should find without reading the text.
"""

from __future__ import annotations

import dataclasses
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

LONDON = ZoneInfo("Europe/London")
from kernel.vocabulary import PLATFORMS  # noqa: E402


@dataclasses.dataclass(slots=True)
class Edit:
    at: datetime
    text: str


@dataclasses.dataclass(slots=True)
class Message:
    """A post, comment or reply, before it is given a platform's shape.

    Attributes:
        key: unique within the data set; renderers derive native ids from it.
        author_id, author_name: the writer (the council account for is_own).
        is_own: written by the council.
        created_at: aware UTC.
        text: the text as first published.
        parent: the key of the message replied to; None for the thread's root.
        edits: later versions, oldest first; the text visible at time T is the last edit
            made at or before T.
        deleted_at: when it disappeared from the API (None: still there).
        hidden: hidden by the page (Facebook/Instagram is_hidden/hidden).
        label: what the generator meant, e.g. "question", "thanks", "foi", "safeguarding".
        flags: platform-neutral flags for posts: sponsor (brand name), paid_partnership,
            paid_product_placement.
    """

    key: str
    author_id: str
    author_name: str
    is_own: bool
    created_at: datetime
    text: str
    parent: str | None = None
    edits: list[Edit] = dataclasses.field(default_factory=list)
    deleted_at: datetime | None = None
    hidden: bool = False
    label: str = "chatter"
    flags: dict = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(slots=True)
class Thread:
    """A root message and every reply under it, on one account.

    `kind` is "post" for a council post, "mention" for an X post by the public that
    mentions the council (a conversation the council did not start).
    """

    platform: str
    account_id: str
    account_handle: str
    account_name: str
    kind: str
    root: Message
    replies: list[Message]

    def messages(self) -> list[Message]:
        return [self.root, *self.replies]


# --- text corpus -----------------------------------------------------------------------
# Council posts: ordinary service news, and a few that break the policy.
OWN_POSTS = [
    (
        "service",
        "Bin collections are running as normal this week. Check your collection day at bracknell-forest.gov.uk/bins",
    ),
    (
        "service",
        "Our libraries have new opening hours from Monday. Find yours at bracknell-forest.gov.uk/libraries",
    ),
    (
        "service",
        "Road resurfacing on the A322 starts on Tuesday night. Expect delays between 8pm and 6am.",
    ),
    (
        "service",
        "Apply for a school place for September by 15 January: bracknell-forest.gov.uk/admissions",
    ),
    ("service", "Warm spaces are open across the borough this winter. Everyone is welcome."),
    ("service", "Gritters are out tonight on priority routes. Please drive carefully."),
    ("event", "Join us for the Christmas lights switch-on in The Lexicon on Saturday from 4pm!"),
    (
        "event",
        "Free family fun day at South Hill Park this Sunday, with Thames Valley Police and Royal Berkshire Fire and Rescue Service.",
    ),
    (
        "election_admin",
        "Polling stations are open 7am to 10pm on Thursday. Remember to bring photo ID.",
    ),
    ("election_admin", "Register to vote by 11:59pm on 17 April to vote in the local elections."),
    (
        "advertising",
        "Thanks to @CoffeeCoLtd for sponsoring our volunteers' breakfast! Use code BRACK10 for 10% off #ad",
    ),
    ("advertising", "Winter ready? Grab these de-icers here: https://amzn.to/3xYz12 #sponsored"),
    (
        "advertising",
        "In partnership with SparkleClean Ltd: get your carpets done this spring. Paid partnership.",
    ),
    ("political", "Vote for Jane Smith and the Progress Party on 7 May for a better Bracknell!"),
    (
        "political",
        "Proud of what the Conservatives have delivered for residents. Vote Conservative!",
    ),
    (
        "personal_data",
        "Congratulations to John Baker of 14 Harmans Water Road RG12 9LT, call him on 07700 900123 to say well done!",
    ),
    ("profanity", "What a bloody shambles the weather has made of the park today, damn it."),
    (
        "contact",
        "Questions about council tax? Call us on 01344 352000 or email customer.services@bracknell-forest.gov.uk",
    ),
]

# Public comments: (label, needs_reply, text)
PUBLIC = [
    ("question", True, "What time does the recycling centre open on Sunday?"),
    ("question", True, "Is the library in Crowthorne open on bank holidays?"),
    ("question", True, "How do I apply for a blue badge? Can't find the form anywhere."),
    ("complaint", True, "My bins have not been collected for two weeks now. This is unacceptable."),
    (
        "complaint",
        True,
        "The streetlight outside our house has been broken for a month and nobody has fixed it.",
    ),
    (
        "problem",
        True,
        "There's a massive pothole on Crowthorne Road near the roundabout, nearly lost a tyre.",
    ),
    (
        "request",
        True,
        "Please can someone get back to me about my council tax refund? Reference CT-558201.",
    ),
    ("thanks", False, "Thank you, that's really helpful!"),
    ("praise", False, "Brilliant work by the team clearing the snow this morning 👏"),
    ("emoji", False, "👍👍"),
    ("tag", False, "@sarah_jones look at this"),
    ("chatter", False, "Looks lovely, we went last year."),
    (
        "foi",
        True,
        "Under the Freedom of Information Act please provide the amount spent on agency staff in 2023/24.",
    ),
    (
        "foi",
        True,
        "I would like to request the number of potholes reported on the A329 in the last 12 months and how many were repaired.",
    ),
    (
        "safeguarding",
        True,
        "My neighbour's kids are left alone every night and I can hear them crying, I think they are being hurt.",
    ),
    ("safeguarding", True, "I can't cope anymore and I want to end my life."),
    (
        "safeguarding",
        True,
        "Any 13 year olds around Bracknell want to meet up? DM me, I'm 34 and cool.",
    ),
    ("abuse", False, "You lot are useless idiots, I hope someone burns the council offices down."),
    ("abuse", False, "Go back where you came from you scum."),
    (
        "personal_data_public",
        True,
        "My number is 07700 900456 and I live at 22 Birch Avenue RG12 7PA, please call me about my housing application.",
    ),
    (
        "spam",
        False,
        "Make £5000 a week from home!!! Click here http://bit.ly/getrichquick and DM me for details",
    ),
    (
        "spam",
        False,
        "Check out my channel for free giveaways!! Subscribe subscribe subscribe www.freegiftz.example",
    ),
]

# How often each kind of public comment turns up, roughly as on a council's pages: mostly
# questions, complaints, thanks and chatter; FOI requests, safeguarding disclosures and
# abuse are rare but present every few days.
PUBLIC_WEIGHTS = {
    "question": 9,
    "complaint": 6,
    "problem": 5,
    "request": 4,
    "thanks": 6,
    "praise": 4,
    "emoji": 3,
    "tag": 3,
    "chatter": 6,
    "foi": 0.6,
    "safeguarding": 0.35,
    "abuse": 0.8,
    "personal_data_public": 0.8,
    "spam": 1.5,
}

OWN_REPLIES = [
    "Thanks for getting in touch. We've passed this to the team and they'll be in contact.",
    "Hi, sorry to hear this. Please report it at bracknell-forest.gov.uk/report and we'll look into it.",
    "Thanks for letting us know, we have logged this with our highways team.",
    "The recycling centre is open 8am to 5pm every day except Christmas.",
]

FIRST = [
    "Sarah",
    "James",
    "Priya",
    "Tom",
    "Aisha",
    "Mark",
    "Emma",
    "Olu",
    "Gareth",
    "Megan",
    "Chris",
    "Fatima",
    "Dan",
    "Helen",
    "Wojciech",
    "Niamh",
    "Ravi",
    "Lucy",
]
LAST = [
    "Jones",
    "Smith",
    "Patel",
    "Brown",
    "Khan",
    "Evans",
    "Wilson",
    "Taylor",
    "Nowak",
    "Davies",
    "Murphy",
    "Ali",
    "Clarke",
    "Hughes",
]

RARE = ("safeguarding", "foi", "abuse", "personal_data_public", "spam")
_PUBLIC_WEIGHTS = [
    PUBLIC_WEIGHTS[label] / sum(1 for p in PUBLIC if p[0] == label) for label, _, _ in PUBLIC
]

DEFAULT_ACCOUNTS = {
    "facebook": ("104958162837", "bracknellforestcouncil", "Bracknell Forest Council"),
    "instagram": ("17841400000000001", "bracknellforestcouncil", "Bracknell Forest Council"),
    "youtube": ("UCbfc0000000000000000001", "BracknellForestCouncil", "Bracknell Forest Council"),
    "twitter": ("2244994945", "BracknellForest", "Bracknell Forest Council"),
}


def _business_time(rng: random.Random, day: datetime) -> datetime:
    local = day.astimezone(LONDON).replace(
        hour=rng.randint(7, 21), minute=rng.randint(0, 59), second=rng.randint(0, 59), microsecond=0
    )
    return local.astimezone(timezone.utc)


def generate_threads(
    days: int,
    per_day: int,
    seed: int = 0,
    end: datetime | None = None,
    accounts: dict[str, tuple[str, str, str]] | None = None,
    platforms: tuple[str, ...] = PLATFORMS,
) -> list[Thread]:
    """Build `days` days of threads ending at `end` (default: now), about `per_day` public
    items per platform per day.

    Deterministic for a given seed and end. Roughly: 1 council post per 8 public items; a
    quarter of items needing a reply are answered promptly, a quarter late, the rest not
    at all; 3% of public comments are edited later and 2% deleted.
    """
    rng = random.Random(seed)
    end = (end or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(microsecond=0)
    accounts = accounts or DEFAULT_ACCOUNTS
    threads: list[Thread] = []
    counter = 0

    def key() -> str:
        nonlocal counter
        counter += 1
        return f"m{counter:09d}"

    def person() -> tuple[str, str]:
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        return f"u{rng.randint(10**6, 10**7 - 1)}", name

    start_day = end - timedelta(days=days)
    for platform in platforms:
        acc_id, handle, name = accounts[platform]
        for day_index in range(days):
            day = start_day + timedelta(days=day_index)
            posts_today = max(1, per_day // 8)
            for p in range(posts_today):
                created = _business_time(rng, day)
                if created > end - timedelta(minutes=30):
                    created = end - timedelta(hours=2, minutes=p)
                label, text = rng.choice(OWN_POSTS) if rng.random() < 0.25 else OWN_POSTS[p % 6]
                flags = {}
                if label == "advertising" and rng.random() < 0.5:
                    flags = {"sponsor": "CoffeeCo Ltd", "paid_partnership": True}
                kind = "post"
                if platform == "twitter" and rng.random() < 0.3:
                    author_id, author_name = person()
                    root = Message(
                        key(),
                        author_id,
                        author_name,
                        False,
                        created,
                        f"@{handle} " + rng.choices(PUBLIC, weights=_PUBLIC_WEIGHTS)[0][2],
                        label="mention",
                    )
                    kind = "mention"
                else:
                    root = Message(
                        key(), acc_id, name, True, created, text, label=label, flags=flags
                    )
                thread = Thread(platform, acc_id, handle, name, kind, root, [])
                n_public = max(1, per_day // posts_today + rng.randint(-2, 2))
                for n in range(n_public):
                    # The day's first comment on each platform is one of the rare kinds in
                    # turn, so even a small data set shows everything the checks look for.
                    notable = (
                        RARE[(day_index + PLATFORMS.index(platform)) % len(RARE)]
                        if p == 0 and n == 0
                        else None
                    )
                    thread.replies.extend(
                        _public_reply(rng, thread, key, person, end, acc_id, name, notable)
                    )
                threads.append(thread)
    return threads


def _public_reply(
    rng, thread: Thread, key, person, end, acc_id, name, label: str | None = None
) -> list[Message]:
    parent = thread.root if rng.random() < 0.7 or not thread.replies else rng.choice(thread.replies)
    created = parent.created_at + timedelta(minutes=rng.randint(2, 60 * 30))
    if created >= end:
        created = parent.created_at + (end - parent.created_at) / 2
    if label:
        label, needs_reply, text = rng.choice([p for p in PUBLIC if p[0] == label])
    else:
        label, needs_reply, text = rng.choices(PUBLIC, weights=_PUBLIC_WEIGHTS)[0]
    author_id, author_name = person()
    msg = Message(key(), author_id, author_name, False, created, text, parent.key, label=label)
    roll = rng.random()
    if roll < 0.03:
        msg.edits.append(
            Edit(
                created + timedelta(minutes=rng.randint(5, 600)), text + " (edited: still waiting)"
            )
        )
    elif roll < 0.05:
        msg.deleted_at = created + timedelta(hours=rng.randint(1, 48))
    if thread.platform in ("facebook", "instagram") and label == "spam" and rng.random() < 0.5:
        msg.hidden = True
    out = [msg]
    if needs_reply:
        answer = rng.random()
        delay = None
        if answer < 0.3:
            delay = timedelta(minutes=rng.randint(10, 180))  # prompt
        elif answer < 0.55:
            delay = timedelta(hours=rng.randint(20, 96))  # late
        if delay is not None and created + delay < end:
            out.append(
                Message(
                    key(),
                    acc_id,
                    name,
                    True,
                    created + delay,
                    rng.choice(OWN_REPLIES),
                    msg.key,
                    label="own_reply",
                )
            )
    return out
