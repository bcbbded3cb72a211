"""The Facebook Page connector against the sandbox over real HTTP, into the warehouse.

Behaviour a user notices: every post and comment arrives with the Page's own replies
marked, a re-run with nothing new costs one call and writes nothing, new comments on
recent posts are picked up, edits become versions, deletions are marked, faults are
survived or fail only the account concerned, and the token is never stored.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import text

from tests.conftest import make_settings
from tests.connectors.graph_data import (
    NOW,
    PAGE,
    PAGE_NAME,
    ago,
    all_text,
    counts,
    fb_comment,
    fb_post,
    ingest,
    item,
    private,
    versions,
    write,
)

LATER = NOW + timedelta(hours=3)


def _write_page(data):
    """Two recent posts and one older than the 14-day look-back, with comments."""
    write(
        data,
        "facebook",
        "posts",
        [
            fb_post(101, ago(days=3), "Bin collections are running as normal this week."),
            fb_post(
                102,
                ago(days=10),
                "Thanks to CoffeeCo for the volunteers' breakfast #ad",
                promotion_status="active",
                sponsor_tags=[{"id": "2001", "name": "CoffeeCo Ltd"}],
            ),
            fb_post(90, ago(days=30), "Old news"),
        ],
    )
    write(
        data,
        "facebook",
        "comments",
        [
            fb_comment(101, 1, ago(days=2, hours=23), "When is my collection?"),
            fb_comment(
                101, 2, ago(days=2, hours=20), "It's on Tuesdays.", who=(PAGE, PAGE_NAME), parent=1
            ),
            fb_comment(101, 3, ago(days=2, hours=19), "Thanks!", parent=1, is_hidden=True),
            fb_comment(102, 1, ago(days=9), "Great"),
            fb_comment(90, 1, ago(days=29), "Old comment"),
        ],
    )
    return data


@pytest.fixture
def page_data(tmp_path):
    return _write_page(tmp_path / "data")


@pytest.fixture(scope="module")
def shared_page(tmp_path_factory):
    """One sandbox over the page for the fault tests (each gets its own warehouse)."""
    from sandbox import server

    running = server.start(_write_page(tmp_path_factory.mktemp("page") / "data"))
    running.sandbox.store.clock = NOW
    yield running
    running.stop()


@pytest.fixture
def page_sandbox(shared_page):
    shared_page.set_faults([])
    shared_page.reset_calls()
    yield shared_page
    shared_page.set_faults([])


def _start(sandbox_factory, data, clock=NOW, **api):
    running = sandbox_factory(data)
    running.sandbox.store.clock = clock
    return running, make_settings(running.url, api=api)


def _shared(running, **api):
    return running, make_settings(running.url, api=api)


def test_posts_comments_and_own_replies_arrive_and_a_rerun_writes_nothing(
    engine, sandbox_factory, fake_tokens, page_data
):
    running, settings = _start(sandbox_factory, page_data)

    first = ingest(settings, engine, "facebook")

    assert first.status == "success", first.error
    assert first.stats.new == 8
    assert running.calls() == {"facebook.posts": 1}  # comments came nested in the posts call
    reply = item(engine, "101_2")
    assert reply.is_own and reply.parent_id == "101_1" and reply.root_id == f"{PAGE}_101"
    assert not item(engine, "101_1").is_own
    assert item(engine, "101_3").flags["is_hidden"] is True
    post = item(engine, f"{PAGE}_102")
    assert post.kind == "post" and post.is_own and post.parent_id is None
    assert post.flags["paid_partnership"] is True and post.flags["sponsor"] == "CoffeeCo Ltd"
    assert post.flags["promotion_status"] == "active"
    assert post.url == f"https://www.facebook.com/{PAGE}/posts/102/"

    # The second run narrows to the look-back window (the first had no watermark); from
    # then on an unchanged account writes nothing at all.
    second = ingest(settings, engine, "facebook")
    assert second.stats.new == second.stats.changed == second.stats.deleted == 0
    before = counts(engine)
    running.reset_calls()

    third = ingest(settings, engine, "facebook")

    assert third.status == "success", third.error
    assert running.calls() == {"facebook.posts": 1}
    assert third.api_calls == 1
    assert counts(engine) == before
    assert third.stats.new == third.stats.changed == third.stats.deleted == 0


def test_recent_posts_get_their_new_comments_and_older_threads_are_left_alone(
    engine, sandbox_factory, fake_tokens, page_data
):
    with (page_data / "facebook" / "posts.jsonl").open("a") as handle:
        handle.write(
            json.dumps(fb_post(103, NOW + timedelta(hours=2), "Gritters out tonight")) + "\n"
        )
    with (page_data / "facebook" / "comments.jsonl").open("a") as handle:
        for row in (
            fb_comment(102, 2, NOW + timedelta(hours=1), "Is this an advert?"),
            fb_comment(90, 2, NOW + timedelta(hours=1), "Late comment on old news"),
        ):
            handle.write(json.dumps(row) + "\n")
    running, settings = _start(sandbox_factory, page_data)
    ingest(settings, engine, "facebook")
    assert item(engine, "102_2") is None  # not yet written at NOW
    running.sandbox.store.clock = LATER
    running.reset_calls()

    outcome = ingest(settings, engine, "facebook", now=LATER)

    assert outcome.status == "success", outcome.error
    assert running.calls() == {"facebook.posts": 1}
    assert item(engine, "102_2").parent_id == f"{PAGE}_102"
    assert item(engine, f"{PAGE}_103").text == "Gritters out tonight"
    # Comments on posts older than the look-back are not re-read, and not taken as deleted.
    assert item(engine, "90_2") is None
    assert item(engine, "90_1").deleted_at is None
    assert outcome.stats.new == 2 and outcome.stats.deleted == 0


def test_edits_become_versions_and_deletions_are_marked(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    data = tmp_path / "data"
    edit_at, gone_at = NOW + timedelta(hours=1), NOW + timedelta(hours=2)
    write(
        data,
        "facebook",
        "posts",
        [
            fb_post(
                101,
                ago(days=3),
                "Road closed on Tuesday",
                **private(edits=[(edit_at, "Road closed on Wednesday")]),
            ),
            fb_post(102, ago(days=5), "Posted by mistake", **private(deleted_at=gone_at)),
        ],
    )
    write(
        data,
        "facebook",
        "comments",
        [
            fb_comment(
                101,
                1,
                ago(days=2),
                "Which road?",
                **private(edits=[(edit_at, "Which road? Still waiting")]),
            ),
            fb_comment(101, 2, ago(days=2), "You lot are useless", **private(deleted_at=gone_at)),
            fb_comment(101, 3, ago(days=2), "Thanks"),
        ],
    )
    running, settings = _start(sandbox_factory, data)
    assert ingest(settings, engine, "facebook").stats.new == 5
    running.sandbox.store.clock = LATER

    outcome = ingest(settings, engine, "facebook", now=LATER)

    assert outcome.status == "success", outcome.error
    assert versions(engine, "101_1") == ["Which road?", "Which road? Still waiting"]
    assert versions(engine, f"{PAGE}_101") == ["Road closed on Tuesday", "Road closed on Wednesday"]
    assert item(engine, "101_2").deleted_at is not None
    assert item(engine, f"{PAGE}_102").deleted_at is not None
    assert item(engine, "101_3").deleted_at is None
    assert item(engine, f"{PAGE}_101").deleted_at is None
    assert outcome.stats.changed == 2 and outcome.stats.deleted == 2
    assert versions(engine, "101_2") == ["You lot are useless"]  # the text is kept


def test_pages_of_posts_and_long_comment_threads_are_followed(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    data = tmp_path / "data"
    write(
        data,
        "facebook",
        "posts",
        [fb_post(100 + n, ago(days=n + 1), f"Post {n}") for n in range(5)],
    )
    write(
        data,
        "facebook",
        "comments",
        [
            fb_comment(100, n, ago(hours=20 - n), f"Comment {n}", parent=1 if n > 3 else None)
            for n in range(1, 6)
        ],
    )
    running, settings = _start(sandbox_factory, data, page_size=2)

    outcome = ingest(settings, engine, "facebook")

    assert outcome.status == "success", outcome.error
    assert outcome.stats.new == 10
    # 5 posts at 2 a page; the 5 comments of one post: 2 nested, then 2 more pages.
    assert running.calls() == {"facebook.posts": 3, "facebook.comments": 2}
    assert item(engine, "100_5").parent_id == "100_1"
    assert item(engine, "100_2").parent_id == f"{PAGE}_100"
    with engine.connect() as conn:
        endpoints = dict(
            conn.execute(
                text("select endpoint, count(*) from raw_payloads group by endpoint")
            ).all()
        )
    assert endpoints == {"facebook.posts": 3, "facebook.comments": 2}


@pytest.mark.parametrize(
    "fault",
    ["429", "429_noreset", "throttled", "500", "502", "timeout", "malformed_json", "truncated"],
)
def test_a_passing_fault_is_retried(sqlite_engine, page_sandbox, fake_tokens, fault):
    # Retry-After is 1 s; other faults back off for max_wait_seconds at most.
    running, settings = _shared(
        page_sandbox, timeout_seconds=0.5, max_wait_seconds=1 if fault == "429" else 0.1
    )
    running.set_faults([{"endpoint": "facebook.posts", "fault": fault, "times": 1, "seconds": 1}])

    outcome = ingest(settings, sqlite_engine, "facebook")

    assert outcome.status == "success", outcome.error
    assert outcome.stats.new == 8
    assert running.calls() == {"facebook.posts": 2}
    assert outcome.api_calls == 2  # the failed attempt is counted


@pytest.mark.parametrize(
    "fault, error, calls",
    [
        ("502", "TransientError", 4),
        ("malformed_json", "not valid JSON", 4),
        ("429_noreset", "rate limited", 4),
    ],
)
def test_a_lasting_fault_fails_the_account_after_the_retries(
    sqlite_engine, page_sandbox, fake_tokens, fault, error, calls
):
    running, settings = _shared(page_sandbox, max_wait_seconds=0.1)
    running.set_faults([{"endpoint": "facebook.*", "fault": fault, "times": -1}])

    outcome = ingest(settings, sqlite_engine, "facebook")

    assert outcome.status == "failed"
    assert running.calls() == {"facebook.posts": calls}  # max_retries 3, plus the first
    assert outcome.api_calls == calls
    if error == "TransientError":
        assert "HTTP 502" in outcome.error
    else:
        assert error in outcome.error
    assert counts(sqlite_engine)["watermarks"] == 0


def test_a_reset_beyond_the_longest_wait_fails_at_once(sqlite_engine, page_sandbox, fake_tokens):
    running, settings = _shared(page_sandbox, max_wait_seconds=2)
    running.set_faults([{"endpoint": "facebook.posts", "fault": "429", "seconds": 30}])

    outcome = ingest(settings, sqlite_engine, "facebook")

    assert outcome.status == "failed"
    assert "resets in 30 s" in outcome.error and "(#32) Page request limit reached" in outcome.error
    assert running.calls() == {"facebook.posts": 1}


def test_an_expired_token_fails_that_page_only_naming_its_connection(
    sqlite_engine, sandbox_factory, fake_tokens, page_data, monkeypatch
):
    other = "200000000001"
    with (page_data / "facebook" / "posts.jsonl").open("a") as handle:
        handle.write(json.dumps(fb_post(7, ago(days=1), "Hello", page=other)) + "\n")
    running = sandbox_factory(page_data)
    running.sandbox.store.clock = NOW
    settings = make_settings(
        running.url,
        accounts={
            "facebook": [
                {"id": PAGE, "handle": "bfc", "name": PAGE_NAME, "conn_id": "cw_facebook"},
                {
                    "id": other,
                    "handle": "other",
                    "name": "Other Page",
                    "conn_id": "cw_facebook_other",
                },
            ]
        },
    )
    # The sandbox refuses the literal token "expired" as Graph refuses an expired session.
    monkeypatch.setenv("AIRFLOW_CONN_CW_FACEBOOK_OTHER", '{"password": "expired"}')

    failed = ingest(settings, sqlite_engine, "facebook", other)
    passed = ingest(settings, sqlite_engine, "facebook", PAGE)

    assert failed.status == "failed"
    assert "'cw_facebook_other'" in failed.error and "Graph error 190/463" in failed.error
    assert failed.api_calls == 1  # an invalid token is not retried
    assert passed.status == "success" and passed.stats.new == 8


def test_an_expired_token_fault_fails_facebook_while_instagram_goes_on(
    sqlite_engine, sandbox_factory, fake_tokens, page_data
):
    from tests.connectors.graph_data import IG_USER, ig_media

    write(page_data, "instagram", "media", [ig_media("17900000000000001", ago(days=1), "Hi")])
    running, settings = _start(sandbox_factory, page_data)
    running.set_faults([{"endpoint": "facebook.*", "fault": "expired_token", "times": -1}])

    facebook = ingest(settings, sqlite_engine, "facebook")
    instagram = ingest(settings, sqlite_engine, "instagram", IG_USER)

    assert facebook.status == "failed"
    assert "Airflow connection 'cw_facebook'" in facebook.error
    assert instagram.status == "success" and instagram.stats.new == 1


def test_the_token_is_never_stored_or_logged(
    engine, sandbox_factory, fake_tokens, tmp_path, caplog
):
    data = tmp_path / "data"
    write(
        data,
        "facebook",
        "posts",
        [fb_post(100 + n, ago(days=n + 1), f"Post {n}") for n in range(3)],
    )
    write(
        data,
        "facebook",
        "comments",
        [fb_comment(100, n, ago(hours=20 - n), f"C{n}") for n in range(1, 4)],
    )
    running, settings = _start(sandbox_factory, data, page_size=1, max_wait_seconds=0.1)
    running.set_faults(
        [
            {"endpoint": "facebook.comments", "fault": "500", "times": 1},
            {"endpoint": "facebook.posts", "fault": "expired_token", "after": 5},
        ]
    )
    token = fake_tokens["facebook"]

    with caplog.at_level(logging.DEBUG):
        ingest(settings, engine, "facebook")
        running.set_faults([])
        outcome = ingest(settings, engine, "facebook")

    assert outcome.status == "success", outcome.error
    stored = all_text(engine)
    assert "access_token=REDACTED" in stored  # paging links were kept, token replaced
    assert token not in stored
    # The sandbox stands in for graph.facebook.com, which does see the token; our side
    # (connector, requests, urllib3, ingestion) must not log it.
    ours = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("sandbox"))
    assert "access_token=REDACTED" in ours  # urllib3's DEBUG request lines, redacted
    assert token not in ours
