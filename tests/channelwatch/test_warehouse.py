"""The warehouse on both dialects: migrations, idempotent loads, edits, deletions, views."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, inspect, select, text

from channelwatch.warehouse import derive, load, make_engine, upgrade
from channelwatch.warehouse.migrate import current_revision, head_revision
from channelwatch.warehouse.schema import item_versions, items, raw_payloads, watermarks
from connectors.base import Batch, RawPage, Scope
from kernel.items import Item
from tests.conftest import make_settings

T0 = datetime(2026, 11, 16, 10, 0, tzinfo=timezone.utc)  # a Monday, 10:00 London
SETTINGS = make_settings()
FB = SETTINGS.accounts.facebook[0]


def item(item_id, text="hello", *, parent=None, root="p1", own=False, at=T0, flags=None):
    return Item(
        platform="facebook",
        id=item_id,
        kind="post" if parent is None else "comment",
        account=FB.id,
        author_id=FB.id if own else "u1",
        author_name="Council" if own else "Resident",
        is_own=own,
        parent_id=parent,
        root_id=root if parent else item_id,
        created_at=at,
        text=text,
        url=f"https://facebook.com/{item_id}",
        flags=flags or {},
    )


def page(body: str) -> RawPage:
    return RawPage("facebook.posts", "GET /v23.0/1/published_posts", body, T0)


def counts(engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            t.name: conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (items, item_versions, raw_payloads, watermarks)
        }


def run_batch(engine, batch, scopes=(), marks=None, now=T0):
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS, now)
        run_id = load.start_run(conn, "facebook", FB.id, now=now)
        stats = load.load_batch(conn, run_id, "facebook", FB.id, batch, now)
        stats.deleted = load.mark_deleted(
            conn, "facebook", FB.id, scopes, {i.id for i in batch.items}, now
        )
        load.set_watermarks(conn, "facebook", FB.id, marks or {}, run_id, now)
        load.finish_run(conn, run_id, "success", stats, now=now)
    return stats


def test_migrates_up_from_empty(warehouse_url):
    engine = make_engine(warehouse_url)
    assert current_revision(engine) is None
    upgrade(engine)
    assert current_revision(engine) == head_revision()
    names = set(inspect(engine).get_table_names())
    assert {
        "accounts",
        "items",
        "item_versions",
        "raw_payloads",
        "ingestion_runs",
        "watermarks",
        "findings",
        "finding_events",
    } <= names
    assert {"unanswered_items", "first_responses", "findings_per_day"} <= set(
        inspect(engine).get_view_names()
    )
    upgrade(engine)  # a second upgrade is a no-op
    assert current_revision(engine) == head_revision()


def test_loading_the_same_batch_twice_changes_nothing(engine):
    batch = Batch(
        [item("p1", "Bins are collected today"), item("c1", "When?", parent="p1")],
        [page('{"data": [1]}')],
    )
    first = run_batch(engine, batch, marks={"facebook.posts": "100"})
    after_first = counts(engine)
    second = run_batch(engine, batch, marks={"facebook.posts": "100"})
    assert (first.new, second.new, second.changed, second.unchanged) == (2, 0, 0, 2)
    assert (
        counts(engine)
        == after_first
        == {"items": 2, "item_versions": 2, "raw_payloads": 1, "watermarks": 1}
    )


def test_an_edit_keeps_the_history(engine):
    run_batch(engine, Batch([item("p1", "Roadworks on Monday")], []))
    stats = run_batch(
        engine, Batch([item("p1", "Roadworks on Tuesday")], []), now=T0 + timedelta(hours=1)
    )
    assert stats.changed == 1
    with engine.connect() as conn:
        current = conn.execute(select(items.c.text, items.c.version)).one()
        history = conn.execute(
            select(item_versions.c.version, item_versions.c.text).order_by(item_versions.c.version)
        ).all()
    assert tuple(current) == ("Roadworks on Tuesday", 2)
    assert [tuple(r) for r in history] == [(1, "Roadworks on Monday"), (2, "Roadworks on Tuesday")]


def test_a_deleted_item_is_marked_never_removed(engine):
    run_batch(
        engine,
        Batch(
            [item("p1"), item("c1", "first", parent="p1"), item("c2", "second", parent="p1")], []
        ),
    )
    later = T0 + timedelta(days=1)
    stats = run_batch(
        engine,
        Batch([item("p1"), item("c1", "first", parent="p1")], []),
        scopes=[Scope(since=T0 - timedelta(days=14))],
        now=later,
    )
    assert stats.deleted == 1
    with engine.connect() as conn:
        rows = dict(conn.execute(select(items.c.item_id, items.c.deleted_at)).all())
    assert rows["c1"] is None and rows["c2"] == later and len(rows) == 3
    # It comes back if the platform returns it again (for instance un-hidden).
    run_batch(engine, Batch([item("c2", "second", parent="p1")], []), now=later)
    with engine.connect() as conn:
        assert (
            conn.execute(select(items.c.deleted_at).where(items.c.item_id == "c2")).scalar() is None
        )


def test_a_deleted_post_takes_its_comments_with_it(engine):
    run_batch(
        engine,
        Batch(
            [
                item("p1"),
                item("c1", "first", parent="p1"),
                item("p2"),
                item("c2", "other", parent="p2", root="p2"),
            ],
            [],
        ),
    )
    later = T0 + timedelta(days=1)
    stats = run_batch(
        engine,
        Batch([item("p2")], []),
        scopes=[Scope(since=T0 - timedelta(days=1), kind="post")],
        now=later,
    )
    with engine.connect() as conn:
        rows = dict(conn.execute(select(items.c.item_id, items.c.deleted_at)).all())
    assert stats.deleted == 2
    assert rows == {"p1": later, "c1": later, "p2": None, "c2": None}


def test_items_outside_the_complete_scope_are_not_marked_deleted(engine):
    old = T0 - timedelta(days=30)
    run_batch(engine, Batch([item("p0", at=old), item("p1")], []))
    stats = run_batch(
        engine, Batch([item("p1")], []), scopes=[Scope(since=T0 - timedelta(days=14))]
    )
    assert stats.deleted == 0


def test_hostile_text_is_stored_losslessly(engine):
    nasty = "<script>alert(1)</script>'; drop table items; --\u202e\u200b\x00 " + "x" * 100_000
    run_batch(engine, Batch([item("p1", nasty)], []))
    with engine.connect() as conn:
        # PostgreSQL text cannot hold NUL: on both dialects it is stored as U+FFFD (the raw
        # page keeps the API's escape); see docs/reliability.md.
        assert conn.execute(select(items.c.text)).scalar_one() == nasty.replace("\x00", "\ufffd")


def test_analyst_views_answer_the_comms_questions(engine):
    # Monday 10:00: a question answered at 11:30 (1.5 business hours); another never answered.
    batch = Batch(
        [
            item("p1", "Library hours change", own=True),
            item("c1", "Is it open on Sunday?", parent="p1", at=T0 + timedelta(minutes=5)),
            item(
                "r1", "No, closed on Sundays", parent="c1", own=True, at=T0 + timedelta(minutes=95)
            ),
        ],
        [],
    )
    run_batch(engine, batch)
    run_batch(
        engine,
        Batch(
            [
                item("p2", "Gritting tonight", own=True, at=T0 + timedelta(hours=2)),
                item(
                    "c9",
                    "Why was my road not gritted?",
                    parent="p2",
                    root="p2",
                    at=T0 + timedelta(hours=3),
                ),
            ],
            [],
        ),
    )
    derive.refresh_derived(SETTINGS, engine, T0 + timedelta(days=1))
    with engine.connect() as conn:
        answered = conn.execute(
            text(
                "select item_id, response_business_hours from first_responses where is_answered = 1"
            )
        ).all()
        unanswered = conn.execute(
            text("select item_id, age_business_hours from unanswered_items")
        ).all()
        channel = conn.execute(
            text(
                "select items_needing_reply, items_answered, reply_rate from first_response_by_channel"
            )
        ).one()
    assert [(r[0], round(float(r[1]), 2)) for r in answered] == [("c1", 1.5)]
    assert [r[0] for r in unanswered] == ["c9"]
    # Created Monday 13:00 London; by now it is at least 4 business hours old.
    assert float(unanswered[0][1]) >= 4.0
    assert (channel[0], channel[1], float(channel[2])) == (2, 1, 0.5)


def test_a_new_reply_count_is_not_a_new_version(engine):
    run_batch(
        engine,
        Batch([item("p1"), item("c1", "Why?", parent="p1", flags={"totalReplyCount": 0})], []),
    )
    stats = run_batch(
        engine,
        Batch([item("p1"), item("c1", "Why?", parent="p1", flags={"totalReplyCount": 3})], []),
    )
    assert (stats.changed, stats.unchanged) == (0, 2)
