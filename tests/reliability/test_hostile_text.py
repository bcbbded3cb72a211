"""Hostile text: served by the sandbox, ingested, stored, checked and reported safely.

Public comments carrying HTML and script, SQL fragments, 100 kB of text, a lone surrogate
(sent as a JSON \\ud83d escape), bytes that are not UTF-8, zero-width characters,
look-alike letters, spaced-out letters, a right-to-left override and a NUL are served on
all four platforms and go through the whole day (ingest with the quality gate, checks,
findings, report) on both dialects. Nothing may crash or vanish:

- every comment is stored, its text exactly as served, except what a UTF-8 text column
  cannot hold — a lone surrogate, a NUL, undecodable bytes — which becomes U+FFFD (the
  same on both dialects); the raw page keeps the original JSON escapes, so a lone
  surrogate or a NUL can still be recovered from raw_payloads;
- the disguised insults are caught after normalisation ("i d i o t", "іdiot" with a
  Cyrillic і, zero-width joiners, behind a right-to-left override);
- the report shows every text as text: no markup of theirs, no bidi control or NUL
  reaching the page.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from channelwatch import pipeline
from channelwatch.warehouse.schema import findings, items, raw_payloads
from sandbox import graph, twitter, youtube
from sandbox.scenario import DEFAULT_ACCOUNTS, Message, Thread
from tests.conftest import make_settings
from tests.reliability.world import PLATFORMS, T1

REPLACEMENT = "\ufffd"
HUGE = ("Please fix the streetlight on Crowthorne Road, you useless idiots. " * 1600)[:100_000]
HOSTILE = {
    "html": '<script>alert("pwned")</script><img src=x onerror=alert(1)> you <b>idiot</b> &amp;',
    "sql": "you idiot'; DROP TABLE items; -- Robert'); DELETE FROM findings WHERE '1'='1",
    "huge": HUGE,
    "surrogate": "broken emoji \ud83d here, you are an idiot",
    "not_utf8": "bytes \udcff\udcfe from a broken client, you idiot",  # served as raw 0xff 0xfe
    "zero_width": "you are an i\u200bd\u200di\u200bo\u200bt",
    "lookalike": "you are an \u0456diot",  # Cyrillic і
    "spaced": "you are an i d i o t",
    "rtl": "\u202eyou are an idiot\u202c see the reversed text",
    "nul": "a nul\x00byte, you idiot",
}
# Every one carries an insult aimed at "you", so every one must be caught (after
# normalisation, for the disguised ones) and shown in the report.


def storable(text: str) -> str:
    """What a UTF-8 text column can hold: lone surrogates and NUL become U+FFFD."""
    return "".join(REPLACEMENT if ch == "\x00" or "\ud800" <= ch <= "\udfff" else ch for ch in text)


def threads() -> list[Thread]:
    out = []
    for platform in PLATFORMS:
        acc_id, handle, name = DEFAULT_ACCOUNTS[platform]
        root = Message(
            f"{platform}-root",
            acc_id,
            name,
            True,
            T1 - timedelta(days=1),
            "Streetlight repairs start on Monday.",
        )
        replies = [
            Message(
                f"{platform}-{kind}",
                f"u{n}",
                f"Resident {n}",
                False,
                T1 - timedelta(hours=20 - n),
                text,
                root.key,
            )
            for n, (kind, text) in enumerate(HOSTILE.items())
        ]
        out.append(Thread(platform, acc_id, handle, name, "post", root, replies))
    return out


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from sandbox import server

    data = tmp_path_factory.mktemp("hostile") / "data"
    story = threads()
    graph.render(story, data)
    youtube.render(story, data)
    twitter.render(story, data)
    running = server.start(data)
    running.sandbox.store.clock = T1
    yield running
    running.stop()


def _by_kind(engine) -> dict[tuple[str, str], dict]:
    """(platform, hostile kind) -> the stored item, found by where its text starts."""
    with engine.connect() as conn:
        rows = conn.execute(select(items).where(items.c.is_own.is_(False))).mappings().all()
    out = {}
    for row in rows:
        for kind, text in HOSTILE.items():
            if storable(text)[:20] in row["text"]:
                out[(row["platform"], kind)] = dict(row)
    return out


def test_hostile_comments_are_stored_checked_and_reported_safely(
    sandbox, engine, fake_tokens, tmp_path
):
    settings = make_settings(
        sandbox.url, api={"page_size": 4}, report={"out_dir": str(tmp_path / "reports")}
    )

    out = pipeline.run_day(settings, engine, T1.date(), now=T1)

    assert not out["failed"], out["failed"]
    assert not out["validate"]["quarantined"], out["validate"]["summary"]
    stored = _by_kind(engine)
    for platform in PLATFORMS:
        for kind, text in HOSTILE.items():
            row = stored.get((platform, kind))
            assert row is not None, f"{platform}: the {kind} comment was lost"
            # X prefixes replies with the @handles they answer.
            assert row["text"].endswith(storable(text)), (platform, kind)

    with engine.connect() as conn:
        bodies = [b for (b,) in conn.execute(select(raw_payloads.c.body))]
        fired = {
            (r.platform, r.item_id)
            for r in conn.execute(
                select(findings.c.platform, findings.c.item_id).where(
                    findings.c.rule == "moderation.abuse"
                )
            )
        }
    raw = "\n".join(bodies)
    assert "\\ud83d" in raw.lower() and "\\u0000" in raw  # the originals, recoverable
    # Bytes that are not UTF-8 are decoded with replacement, in the raw page as well.
    assert raw.count("bytes \ufffd\ufffd from a broken client") >= len(PLATFORMS)
    for platform in PLATFORMS:
        for kind in HOSTILE:
            item = stored[(platform, kind)]
            assert (platform, item["item_id"]) in fired, f"{platform}: {kind} not caught"

    html = open(out["report"]["html"], encoding="utf-8").read()
    assert "<script" not in html and "<img" not in html and "<b>idiot" not in html
    assert "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;" in html
    assert "\u202e" not in html and "\x00" not in html
    csv_text = open(out["report"]["csv"], encoding="utf-8").read()
    assert "DROP TABLE items" in csv_text and "\x00" not in csv_text  # data, as stored
    summary = json.loads(open(out["report"]["json"], encoding="utf-8").read())
    assert summary["report_date"] == T1.date().isoformat()
