"""The pipeline steps: the GX gate and quarantine, the checks' scope, idempotency,
retention, monitoring gaps — on SQLite and PostgreSQL, against the sandbox over HTTP where
a platform is involved."""

from __future__ import annotations

import json
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, text

from channelwatch import pipeline
from channelwatch.secrets import Credentials
from channelwatch.warehouse import load
from channelwatch.warehouse.schema import (
    findings,
    ingestion_runs,
    item_versions,
    items,
    quarantined_batches,
    raw_payloads,
    watermarks,
)
from connectors.base import Batch, FetchResult, RawPage
from kernel.items import Item
from tests.conftest import make_settings

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)
FB = "104958162837"  # the sandbox's Facebook page, as in make_settings()


# -- helpers ----------------------------------------------------------------------------------


def item(
    item_id,
    parent=None,
    root=None,
    created=None,
    text="hello",
    account=FB,
    is_own=False,
    kind=None,
    flags=None,
    platform="facebook",
) -> Item:
    return Item(
        platform=platform,
        id=item_id,
        kind=kind or ("comment" if parent else "post"),
        account=account,
        author_id=f"user-{item_id}",
        author_name="A Person",
        is_own=is_own,
        parent_id=parent,
        root_id=root or parent or item_id,
        created_at=created or NOW - timedelta(hours=2),
        text=text,
        flags=flags or {},
    )


class StubConnector:
    """Yields prepared batches: for faults no real platform can be made to produce
    (duplicate ids in one page), the gate is what is under test, not a connector."""

    platform = "facebook"

    def __init__(self, batches):
        self.batches = batches

    def fetch(self, state):
        yield from self.batches

    def result(self):
        return FetchResult(watermarks={"facebook.posts": "2026-11-24T08:00:00+00:00"})


def stub(*batches):
    return lambda platform, account, creds, api: StubConnector(
        [
            Batch(
                list(b),
                [
                    RawPage(
                        "facebook.posts",
                        "GET /stub",
                        json.dumps({"data": [{"id": i.id} for i in b]}),
                        NOW,
                    )
                ],
            )
            for b in batches
        ]
    )


CREDS = Credentials("cw_facebook", "FAKE-TOKEN")


def count(engine, table, *where) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()


def generate_sandbox(tmp_path, sandbox_factory, days=3, per_day=8, end=None):
    from sandbox.generate import generate

    generate(tmp_path / "data", days, per_day, seed=3, end=end)
    return sandbox_factory(tmp_path / "data")


# -- ingestion through the gate --------------------------------------------------------------


def test_every_platform_ingests_from_the_sandbox_through_the_gate(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    sandbox = generate_sandbox(tmp_path, sandbox_factory)
    settings = make_settings(sandbox.url)
    for platform, account in settings.accounts.all():
        figures = pipeline.ingest(settings, engine, platform, account.id)
        assert figures["status"] == "success"
        assert figures["items_new"] > 0
        assert count(engine, items, items.c.platform == platform) == figures["items_seen"]
    assert count(engine, quarantined_batches) == 0
    again = pipeline.ingest(settings, engine, "facebook", settings.accounts.facebook[0].id)
    assert again["items_new"] == again["items_changed"] == 0


def test_duplicate_ids_and_future_timestamps_quarantine_the_batch_unloaded(engine, fake_tokens):
    settings = make_settings("http://127.0.0.1:9")
    good = [item("p0")]
    bad = [
        item("p1"),
        item("c1", "p1"),
        item("c1", "p1"),
        item("c2", "p1", created=NOW + timedelta(days=3)),
    ]
    with pytest.raises(pipeline.BatchQuarantined) as err:
        pipeline.ingest(
            settings, engine, "facebook", FB, now=NOW, credentials=CREDS, factory=stub(good, bad)
        )
    assert "quarantined_batches.batch_id=" in str(err.value)
    # The good batch before it is loaded; the bad one is not, and no watermark moved.
    with engine.connect() as conn:
        assert sorted(conn.execute(select(items.c.item_id)).scalars()) == ["p0"]
        assert conn.execute(select(func.count()).select_from(watermarks)).scalar_one() == 0
        run = conn.execute(select(ingestion_runs)).one()
        batch = conn.execute(select(quarantined_batches)).one()
    assert run.status == "quarantined" and "quality gate" in run.error
    assert batch.run_id == run.run_id and batch.platform == "facebook"
    assert batch.item_count == 4 and [i["id"] for i in batch.items] == ["p1", "c1", "c1", "c2"]
    failed = {f["expectation"]: f for f in batch.failed_expectations}
    assert failed["expect_compound_columns_to_be_unique"]["examples"] == ["c1", "c1"]
    assert failed["expect_column_values_to_be_between"]["examples"] == ["c2"]
    assert batch.validation_result["success"] is False
    assert batch.validation_result["channelwatch"]["loaded"] is False


def test_texts_accounts_and_unparseable_timestamps_fail_the_batch(engine, fake_tokens):
    from checks import quality

    rows = [
        item("p1"),
        item("p2", account="someone-else"),
        {"platform": "facebook", "id": "p3", "account": FB, "created_at": "yesterday", "text": "x"},
        {
            "platform": "facebook",
            "id": "",
            "account": FB,
            "created_at": "2026-11-24T08:00:00Z",
            "text": None,
        },
    ]
    result = quality.validate_batch(rows, platform="facebook", accounts=[FB], now=NOW)
    failed = {(f["expectation"], f["columns"][0]) for f in result.failed}
    assert not result.success
    assert failed == {
        ("expect_column_values_to_not_be_null", "id"),
        ("expect_column_values_to_not_be_null", "created_epoch"),
        ("expect_column_values_to_be_in_set", "text_type"),
        ("expect_column_values_to_be_in_set", "account"),
    }
    assert quality.validate_batch(
        [item("p1"), item("c1", "p1")], platform="facebook", accounts=[FB], now=NOW
    ).success


def test_timestamps_in_the_future_from_the_sandbox_are_quarantined(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    # The platform's clock runs two days ahead of ours: what it serves is "in the future".
    ahead = datetime.now(timezone.utc) + timedelta(days=2)
    sandbox = generate_sandbox(tmp_path, sandbox_factory, end=ahead)
    request = urllib.request.Request(
        f"{sandbox.url}/__sandbox/clock",
        method="POST",
        data=json.dumps({"now": ahead.isoformat()}).encode(),
    )
    urllib.request.urlopen(request, timeout=5).read()
    settings = make_settings(sandbox.url)
    with pytest.raises(pipeline.BatchQuarantined, match="created_epoch"):
        pipeline.ingest(settings, engine, "facebook", settings.accounts.facebook[0].id)
    assert count(engine, quarantined_batches) == 1
    assert count(engine, items, items.c.created_at > datetime.now(timezone.utc)) == 0


def test_a_reply_whose_parent_never_arrives_is_held_back(engine, fake_tokens):
    settings = make_settings("http://127.0.0.1:9")
    first = [item("p1"), item("c1", "p1")]
    later = [item("c9", "gone", root="also-gone")]
    with pytest.raises(pipeline.BatchQuarantined, match="parent_known"):
        pipeline.ingest(
            settings, engine, "facebook", FB, now=NOW, credentials=CREDS, factory=stub(first, later)
        )
    # Loaded (the pass is committed batch by batch), but held back from the checks.
    assert count(engine, items) == 3
    with engine.connect() as conn:
        batch = conn.execute(select(quarantined_batches)).one()
    assert [i["id"] for i in batch.items] == ["c9"]
    assert batch.validation_result["channelwatch"]["loaded"] is True
    scope = pipeline.scope_items(settings, engine, NOW)
    assert sorted(i.id for i in scope) == ["c1", "p1"]


def test_a_reply_listed_before_its_post_passes(engine, fake_tokens):
    # YouTube lists comment threads before the videos they are on.
    settings = make_settings("http://127.0.0.1:9")
    figures = pipeline.ingest(
        settings,
        engine,
        "facebook",
        FB,
        now=NOW,
        credentials=CREDS,
        factory=stub([item("c1", "p1")], [item("p1")]),
    )
    assert figures["status"] == "success"
    # A reply to a deleted reply is attached through its thread's root (X keeps those).
    figures = pipeline.ingest(
        settings,
        engine,
        "facebook",
        FB,
        now=NOW,
        credentials=CREDS,
        factory=stub([item("c7", "deleted-reply", root="p1")]),
    )
    assert figures["status"] == "success"


def test_fewer_comments_than_the_api_total_quarantine_the_thread(engine, fake_tokens):
    settings = make_settings("http://127.0.0.1:9")
    batch = [
        item("p1", flags={"comments_count": 3}),
        item("c1", "p1"),
        item("p2", flags={"comments_count": 1}),
        item("c2", "p2"),
    ]
    with pytest.raises(pipeline.BatchQuarantined, match="counted,reported"):
        pipeline.ingest(
            settings, engine, "facebook", FB, now=NOW, credentials=CREDS, factory=stub(batch)
        )
    with engine.connect() as conn:
        held = conn.execute(select(quarantined_batches.c["items"])).scalar_one()
    assert sorted(i["id"] for i in held) == ["c1", "p1"]
    assert sorted(i.id for i in pipeline.scope_items(settings, engine, NOW)) == ["c2", "p2"]


def test_totals_are_read_from_raw_pages():
    from checks import quality

    ig = RawPage(
        "instagram.media",
        "GET",
        json.dumps(
            {"data": [{"id": "m1", "comments_count": 4, "comments": {"data": [{"id": "c1"}]}}]}
        ),
        NOW,
    )
    yt = RawPage(
        "youtube.commentThreads",
        "GET",
        json.dumps(
            {
                "items": [
                    {"id": "t1", "snippet": {"totalReplyCount": 2, "topLevelComment": {"id": "t1"}}}
                ]
            }
        ),
        NOW,
    )
    fb = RawPage(
        "facebook.posts",
        "GET",
        json.dumps(
            {"data": [{"id": "p1", "comments": {"data": [], "summary": {"total_count": 7}}}]}
        ),
        NOW,
    )
    totals = {t.item_id: (t.reported, t.scope) for t in quality.reported_totals([], [ig, yt, fb])}
    assert totals == {"m1": (4, "thread"), "t1": (2, "replies"), "p1": (7, "thread")}


# -- the checks' scope, and a day run twice -----------------------------------------------------


def _load(engine, batch, now=NOW):
    with engine.begin() as conn:
        load.sync_accounts(conn, make_settings(), now)
        load.load_items(conn, "test-run", batch, now)


def test_the_scope_is_what_existed_as_of_and_is_deterministic(engine):
    settings = make_settings()
    _load(
        engine,
        [
            item("old-post", created=NOW - timedelta(days=40)),
            item("old-reply", "old-post", created=NOW - timedelta(days=39)),
            item("late-reply", "old-post", created=NOW - timedelta(hours=5)),  # touches the thread
            item("quiet-post", created=NOW - timedelta(days=30)),
            item("new-post", created=NOW - timedelta(hours=3)),
            item("future-reply", "new-post", created=NOW + timedelta(hours=1)),
        ],
    )
    ids = sorted(i.id for i in pipeline.scope_items(settings, engine, NOW))
    assert ids == ["late-reply", "new-post", "old-post", "old-reply"]
    assert sorted(i.id for i in pipeline.scope_items(settings, engine, NOW)) == ids
    # As of an earlier instant the late reply had not been written: the thread was quiet.
    assert pipeline.scope_items(settings, engine, NOW - timedelta(hours=6)) == []
    with engine.begin() as conn:
        conn.execute(
            items.update()
            .where(items.c.item_id == "new-post")
            .values(deleted_at=NOW - timedelta(hours=1))
        )
    assert "new-post" not in {i.id for i in pipeline.scope_items(settings, engine, NOW)}
    earlier = NOW - timedelta(hours=2)  # before it was deleted
    assert "new-post" in {i.id for i in pipeline.scope_items(settings, engine, earlier)}


def _snapshot(engine):
    with engine.connect() as conn:
        stored = conn.execute(
            select(
                items.c.platform,
                items.c.item_id,
                items.c.content_hash,
                items.c.version,
                items.c.deleted_at,
            ).order_by(items.c.platform, items.c.item_id)
        ).all()
        found = conn.execute(
            select(
                findings.c.finding_id,
                findings.c.status,
                findings.c.severity,
                findings.c.evidence,
                findings.c.due_at,
                findings.c.detected_at,
            ).order_by(findings.c.finding_id)
        ).all()
    return stored, found


def test_running_a_day_twice_or_backfilling_it_gives_the_same_warehouse(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    sandbox = generate_sandbox(tmp_path, sandbox_factory)
    settings = make_settings(sandbox.url, report={"out_dir": str(tmp_path / "reports")})
    now = datetime.now(timezone.utc)
    today = now.astimezone(settings.business_hours.zone).date()
    first = pipeline.run_day(settings, engine, today, now=now)
    assert first["failed"] == [] and first["check"]["findings"] > 0
    before = _snapshot(engine)
    second = pipeline.run_day(settings, engine, today, now=now)
    assert second["check"]["detected"] == 0 and second["check"]["resolved"] == 0
    assert _snapshot(engine) == before
    # A past day, twice: the same findings each time.
    yesterday = today - timedelta(days=1)
    pipeline.run_day(settings, engine, yesterday, now=now, ingest_accounts=False)
    past = _snapshot(engine)
    pipeline.run_day(settings, engine, yesterday, now=now, ingest_accounts=False)
    assert _snapshot(engine) == past
    assert (tmp_path / "reports" / today.isoformat() / "report.html").exists()
    assert (tmp_path / "reports" / yesterday.isoformat() / "report.html").exists()


def test_validation_of_the_scope_holds_back_what_fails(engine):
    settings = make_settings()
    _load(engine, [item("p1"), item("c1", "p1"), item("orphan", "nowhere", root="nothing")])
    out = pipeline.validate_scope(settings, engine, NOW)
    assert len(out["quarantined"]) == 1 and "parent_known" in out["summary"][0]
    assert sorted(i.id for i in pipeline.scope_items(settings, engine, NOW)) == ["c1", "p1"]
    again = pipeline.validate_scope(settings, engine, NOW)
    assert again["quarantined"] == []


# -- housekeeping -------------------------------------------------------------------------------


def test_retention_redacts_old_public_text_unless_a_finding_holds_it(engine):
    settings = make_settings(retention={"public_comment_days": 30, "raw_payload_days": 60})
    long_ago = NOW - timedelta(days=45)
    _load(
        engine,
        [
            item("post", created=long_ago, is_own=True, text="Council news"),
            item("c-old", "post", created=long_ago, text="my address is 1 High St"),
            item("c-held", "post", created=long_ago, text="please call me back"),
            item("c-new", "post", created=NOW - timedelta(days=2), text="recent"),
        ],
        now=long_ago,
    )
    with engine.begin() as conn:
        conn.execute(
            insert(findings).values(
                finding_id="f1",
                platform="facebook",
                item_id="c-held",
                category="unanswered",
                rule="unanswered.sla_breach",
                severity="medium",
                route="comms",
                evidence="x",
                detected_at=long_ago,
                status="open",
                status_changed_at=long_ago,
                updated_at=long_ago,
            )
        )
        conn.execute(
            insert(raw_payloads).values(
                run_id="r",
                platform="facebook",
                account_id=FB,
                endpoint="facebook.posts",
                request="GET",
                received_at=NOW - timedelta(days=90),
                body="{}",
                sha256="0" * 64,
            )
        )
    out = pipeline.apply_retention(settings, engine, NOW)
    assert out["items_redacted"] == 1 and out["raw_payloads_deleted"] == 1
    with engine.connect() as conn:
        rows = {r.item_id: r for r in conn.execute(select(items))}
        versions = dict(conn.execute(select(item_versions.c.item_id, item_versions.c.text)).all())
    assert rows["c-old"].text == "" and rows["c-old"].author_id == ""
    assert rows["c-old"].author_name == "" and rows["c-old"].redacted_at is not None
    assert rows["c-old"].author_ref  # the pseudonym stays
    assert versions["c-old"] == ""
    assert rows["c-held"].text == "please call me back" and rows["c-held"].redacted_at is None
    assert rows["post"].text == "Council news" and rows["c-new"].text == "recent"
    assert pipeline.apply_retention(settings, engine, NOW)["items_redacted"] == 0
    # Once the finding is closed the comment goes too.
    with engine.begin() as conn:
        conn.execute(findings.update().values(status="resolved"))
    assert pipeline.apply_retention(settings, engine, NOW)["items_redacted"] == 1


def _runs(engine, platform, account_id, finished, status="success"):
    with engine.begin() as conn:
        conn.execute(
            insert(ingestion_runs).values(
                run_id=f"{platform}-{finished.timestamp()}",
                platform=platform,
                account_id=account_id,
                started_at=finished - timedelta(minutes=1),
                finished_at=finished,
                status=status,
            )
        )


def test_an_account_not_ingested_for_too_long_is_a_finding_until_it_ingests(engine):
    settings = make_settings(monitoring={"gap_hours": 6})
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, NOW - timedelta(days=3))
    for platform, account in settings.accounts.all():
        _runs(engine, platform, account.id, NOW - timedelta(hours=1))
    _runs(engine, "facebook", FB, NOW - timedelta(hours=10))
    with engine.begin() as conn:
        conn.execute(
            text("delete from ingestion_runs where platform = 'facebook' and finished_at > :t"),
            {"t": NOW - timedelta(hours=5)},
        )
    out = pipeline.monitoring_gaps(settings, engine, NOW)
    assert out["gaps"] == [f"facebook:{FB}"] and out["detected"] == 1
    with engine.connect() as conn:
        gap = conn.execute(select(findings)).one()
    assert gap.rule == pipeline.GAP_RULE and gap.category == "pipeline"
    assert gap.item_id == f"account:{FB}" and gap.status == "new"
    assert "10 h without data" in gap.evidence
    assert pipeline.monitoring_gaps(settings, engine, NOW)["detected"] == 0  # idempotent
    _runs(engine, "facebook", FB, NOW + timedelta(minutes=30))
    out = pipeline.monitoring_gaps(settings, engine, NOW + timedelta(hours=1))
    assert out["gaps"] == [] and out["resolved"] == 1


def test_a_late_report_is_recorded_as_a_finding(engine):
    settings = make_settings()
    message = pipeline.record_report_late(
        settings,
        engine,
        {"logical_date": "2026-11-23T07:30:00+00:00", "dag_run_id": "sched"},
        {"deadline_time": "2026-11-23T08:30:00+00:00"},
        now=NOW,
    )
    assert "2026-11-23" in message and "sched" in message
    with engine.connect() as conn:
        late = conn.execute(select(findings)).one()
    assert late.rule == "pipeline.report_late" and late.item_id == "report:2026-11-23"
    assert (
        pipeline.record_report_late(
            settings,
            engine,
            {"logical_date": "2026-10-01T06:30:00+00:00", "run_type": "backfill"},
            {},
            now=NOW,
        )
        == ""
    )
