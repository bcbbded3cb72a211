"""The Instagram connector against the sandbox over real HTTP, into the warehouse.

Media, their comments and the replies to those comments, with the account's own replies
recognised by username; incremental re-runs, edits, deletions, paging at both levels,
Instagram's throttling and the scenario generator's data end to end.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import text

from sandbox.graph import render
from sandbox.scenario import generate_threads
from tests.conftest import make_settings
from tests.connectors.graph_data import (
    IG_HANDLE,
    IG_USER,
    NOW,
    ago,
    counts,
    ig_comment,
    ig_media,
    ingest,
    item,
    private,
    versions,
    write,
)

LATER = NOW + timedelta(hours=3)
M1, M2, M_OLD = "17900000000000001", "17900000000000002", "17900000000000003"
OWN = (IG_USER, IG_HANDLE)


@pytest.fixture
def account_data(tmp_path):
    data = tmp_path / "data"
    write(data, "instagram", "users", [{"id": IG_USER, "username": IG_HANDLE}])
    write(
        data,
        "instagram",
        "media",
        [
            ig_media(M1, ago(days=2), "Warm spaces are open across the borough."),
            ig_media(
                M2, ago(days=6), "New library hours", media_type="VIDEO", media_product_type="REELS"
            ),
            ig_media(M_OLD, ago(days=40), "Last month"),
        ],
    )
    write(
        data,
        "instagram",
        "comments",
        [
            ig_comment(M1, "1801", ago(days=1, hours=20), "Where is the nearest one?"),
            # An own reply, recognised by username (Instagram gives `from` only sometimes).
            ig_comment(
                M1,
                "1802",
                ago(days=1, hours=18),
                "At the library on Broadway.",
                who=("", IG_HANDLE),
                parent="1801",
            ),
            ig_comment(M1, "1803", ago(days=1, hours=17), "Thanks!", parent="1801"),
            ig_comment(M1, "1804", ago(days=1), "Buy followers here", hidden=True),
            ig_comment(M2, "1805", ago(days=5), "Is it open Sundays?"),
            ig_comment(M_OLD, "1806", ago(days=39), "Nice"),
        ],
    )
    return data


def _start(sandbox_factory, data, clock=NOW, **api):
    running = sandbox_factory(data)
    running.sandbox.store.clock = clock
    return running, make_settings(running.url, api=api)


def test_media_comments_and_replies_arrive_and_a_rerun_writes_nothing(
    engine, sandbox_factory, fake_tokens, account_data
):
    running, settings = _start(sandbox_factory, account_data)

    first = ingest(settings, engine, "instagram")

    assert first.status == "success", first.error
    assert first.stats.new == 9
    assert running.calls() == {"instagram.media": 1}  # comments and replies came nested
    own = item(engine, "1802")
    assert own.is_own and own.parent_id == "1801" and own.root_id == M1
    assert own.author_name == IG_HANDLE
    top = item(engine, "1801")
    assert not top.is_own and top.parent_id == M1 and top.author_name == "ann.resident"
    assert item(engine, "1804").flags["is_hidden"] is True
    reel = item(engine, M2)
    assert reel.kind == "post" and reel.is_own
    assert reel.flags == {"media_type": "VIDEO", "media_product_type": "REELS"}
    assert reel.url.startswith("https://www.instagram.com/p/")

    ingest(settings, engine, "instagram")  # narrows to the look-back window
    before = counts(engine)
    running.reset_calls()

    third = ingest(settings, engine, "instagram")

    assert third.status == "success", third.error
    assert running.calls() == {"instagram.media": 1}
    assert counts(engine) == before
    assert third.stats.new == third.stats.changed == third.stats.deleted == 0


def test_new_replies_edits_and_deletions(engine, sandbox_factory, fake_tokens, tmp_path):
    data = tmp_path / "data"
    edit_at, gone_at, new_at = (NOW + timedelta(hours=h) for h in (1, 2, 1))
    write(
        data,
        "instagram",
        "media",
        [
            ig_media(
                M1,
                ago(days=2),
                "Road closed Tuesday",
                **private(edits=[(edit_at, "Road closed Wednesday")]),
            ),
            ig_media(M2, ago(days=4), "Oops", **private(deleted_at=gone_at)),
        ],
    )
    write(
        data,
        "instagram",
        "comments",
        [
            ig_comment(
                M1,
                "1801",
                ago(days=1),
                "Which road?",
                **private(edits=[(edit_at, "Which road?? Still no answer")]),
            ),
            ig_comment(
                M1, "1802", ago(days=1), "Idiots", parent="1801", **private(deleted_at=gone_at)
            ),
            ig_comment(
                M1, "1803", new_at, "The A322, sorry for the delay.", who=OWN, parent="1801"
            ),
        ],
    )
    running, settings = _start(sandbox_factory, data)
    assert ingest(settings, engine, "instagram").stats.new == 4
    running.sandbox.store.clock = LATER
    running.reset_calls()

    outcome = ingest(settings, engine, "instagram", now=LATER)

    assert outcome.status == "success", outcome.error
    assert running.calls() == {"instagram.media": 1}
    assert item(engine, "1803").is_own and item(engine, "1803").parent_id == "1801"
    assert versions(engine, "1801") == ["Which road?", "Which road?? Still no answer"]
    assert versions(engine, M1) == ["Road closed Tuesday", "Road closed Wednesday"]
    assert item(engine, "1802").deleted_at is not None
    assert item(engine, M2).deleted_at is not None
    assert item(engine, "1801").deleted_at is None
    assert (outcome.stats.new, outcome.stats.changed, outcome.stats.deleted) == (1, 2, 2)


def test_pages_of_media_comments_and_replies_are_followed(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    data = tmp_path / "data"
    write(
        data,
        "instagram",
        "media",
        [ig_media(f"179000000000001{n}", ago(days=n + 1), f"M{n}") for n in range(3)],
    )
    comments = [
        ig_comment("1790000000000010", f"18{n}", ago(hours=30 - n), f"C{n}") for n in range(3)
    ]
    comments += [
        ig_comment("1790000000000010", f"19{n}", ago(hours=20 - n), f"R{n}", parent="182")
        for n in range(3)
    ]
    write(data, "instagram", "comments", comments)
    running, settings = _start(sandbox_factory, data, page_size=2)

    outcome = ingest(settings, engine, "instagram")

    assert outcome.status == "success", outcome.error
    assert outcome.stats.new == 9
    # media: 3 at 2 a page; comments: 2 nested + 1 page; replies of 182 (newest comment,
    # so nested in the first page): 2 nested + 1 page.
    assert running.calls() == {
        "instagram.media": 2,
        "instagram.comments": 1,
        "instagram.replies": 1,
    }
    assert (
        item(engine, "192").parent_id == "182" and item(engine, "192").root_id == "1790000000000010"
    )
    with engine.connect() as conn:
        assert conn.execute(text("select count(distinct endpoint) from raw_payloads")).scalar() == 3


@pytest.mark.parametrize("fault", ["429", "429_noreset"])
def test_instagram_throttling_is_waited_out(
    sqlite_engine, sandbox_factory, fake_tokens, account_data, fault
):
    running, settings = _start(
        sandbox_factory, account_data, max_wait_seconds=1 if fault == "429" else 0.1
    )
    running.set_faults([{"endpoint": "instagram.*", "fault": fault, "times": 2, "seconds": 1}])

    outcome = ingest(settings, sqlite_engine, "instagram")

    assert outcome.status == "success", outcome.error
    assert running.calls() == {"instagram.media": 3}
    assert outcome.stats.new == 9


def test_an_expired_token_names_the_connection(
    sqlite_engine, sandbox_factory, fake_tokens, account_data
):
    running, settings = _start(sandbox_factory, account_data)
    running.set_faults([{"endpoint": "instagram.media", "fault": "expired_token"}])

    outcome = ingest(settings, sqlite_engine, "instagram")

    assert outcome.status == "failed"
    assert "Airflow connection 'cw_instagram'" in outcome.error
    assert fake_tokens["instagram"] not in outcome.error


def test_a_generated_scenario_arrives_whole(sqlite_engine, sandbox_factory, fake_tokens, tmp_path):
    """Every Instagram object the generator made and the clock shows arrives, once."""
    end = datetime(2026, 3, 2, 12, tzinfo=timezone.utc)
    data = tmp_path / "data"
    render(generate_threads(10, 30, seed=3, end=end, platforms=("instagram",)), data)
    rows = {}
    for name in ("media", "comments"):
        for line in (data / "instagram" / f"{name}.jsonl").read_text().splitlines():
            row = json.loads(line)
            rows[row["id"]] = row

    def visible(row) -> bool:  # deleting a comment deletes its replies
        gone = row["_sandbox"]["deleted_at"]
        up = row.get("parent_id") or (row.get("media") or {}).get("id")
        return (gone is None or gone > "2026-03-02T12:00:00+0000") and (
            up is None or visible(rows[up])
        )

    expected = {row_id for row_id, row in rows.items() if visible(row)}
    running, settings = _start(sandbox_factory, data, clock=end, page_size=10)

    outcome = ingest(settings, sqlite_engine, "instagram", now=end)

    assert outcome.status == "success", outcome.error
    with sqlite_engine.connect() as conn:
        stored = {r[0] for r in conn.execute(text("select item_id from items"))}
        own = conn.execute(
            text("select count(*) from items where is_own and kind = 'comment'")
        ).scalar()
    assert stored == expected
    assert own > 0
