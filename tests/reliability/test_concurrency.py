"""Concurrency on PostgreSQL: two day runs for different days at the same time.

A backfill of Monday and Tuesday's own run start together (two threads, each with its own
engine, as two processes would), both ingesting the same four accounts from the same
sandbox and then checking and reporting. Neither may fail, and afterwards the warehouse
must be what running them one after the other leaves — in one order or the other, since
whichever findings sync comes second sees the first's work (channelwatch.findings, rule 7):
exactly the items that exist, watermarks covered by committed data and equal to a serial
run's, each finding once with one "detected" event, and the findings, in their states, of
one of the two serial orders.

Without the locks of channelwatch.warehouse.locks the two passes of one account insert the
same new items (a unique violation fails one account), and the two syncs the same new
findings; without the lock in checks.quality the two quality gates validate each other's
batches.
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
from sqlalchemy import func, select

from channelwatch import pipeline
from channelwatch.warehouse import make_engine, upgrade
from channelwatch.warehouse.schema import finding_events, findings
from tests.conftest import _fresh_pg_schema, make_settings
from tests.reliability import world

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
NOW = datetime(2026, 3, 3, 15, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from sandbox import server

    data = world.build_dataset(tmp_path_factory.mktemp("concurrent") / "data")
    running = server.start(data)
    running.sandbox.store.clock = NOW
    running.data = data
    yield running
    running.stop()


def _warehouse(pg_database):
    engine = make_engine(_fresh_pg_schema(pg_database))
    upgrade(engine)
    return engine


def _findings(engine) -> dict[str, tuple]:
    with engine.connect() as conn:
        return {r.finding_id: (r.status, r.rule, r.item_id) for r in conn.execute(select(findings))}


@pytest.mark.postgres
def test_two_days_run_at_once_corrupt_no_watermark_and_duplicate_no_finding(
    sandbox, pg_database, fake_tokens, tmp_path
):
    def settings(name):
        return make_settings(
            sandbox.url, api={"page_size": 100}, report={"out_dir": str(tmp_path / name)}
        )

    serial = {}
    for order in ((MONDAY, TUESDAY), (TUESDAY, MONDAY)):
        serial[order] = _warehouse(pg_database)
        for day in order:
            out = pipeline.run_day(settings("serial"), serial[order], day, now=NOW)
            assert not out["failed"], out["failed"]
    sequential = serial[(MONDAY, TUESDAY)]

    shared = _warehouse(pg_database).url.render_as_string(hide_password=False)
    engines = [make_engine(shared), make_engine(shared)]
    barrier = threading.Barrier(2)
    results: dict[date, dict] = {}
    errors: list[BaseException] = []

    def run(day, engine):
        try:
            barrier.wait(timeout=30)
            results[day] = pipeline.run_day(settings(f"concurrent-{day}"), engine, day, now=NOW)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [
        threading.Thread(target=run, args=(day, engine))
        for day, engine in zip((MONDAY, TUESDAY), engines)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    for day in (MONDAY, TUESDAY):
        assert not results[day]["failed"], results[day]["failed"]
        assert not results[day]["validate"]["quarantined"], results[day]["validate"]["summary"]

    concurrent = engines[0]
    truth = world.expected(sandbox.data, NOW)
    known = world.all_ids(sandbox.data)
    for platform in world.PLATFORMS:
        world.assert_matches(concurrent, platform, truth[platform], known[platform])
        world.assert_watermarks_not_ahead(concurrent, platform)
        assert world.marks(concurrent, platform) == world.marks(sequential, platform)
    with concurrent.connect() as conn:
        detected = dict(
            conn.execute(
                select(finding_events.c.finding_id, func.count())
                .where(finding_events.c.action == "detected")
                .group_by(finding_events.c.finding_id)
            ).all()
        )
    assert detected and set(detected.values()) == {1}
    # Which findings are open or resolved depends on how the two runs interleaved (a check
    # may or may not see the other day's items yet), so compare identities: nothing a
    # serial order would not find, and nothing both serial orders find is missing.
    found = set(_findings(concurrent))
    orders = [set(_findings(e)) for e in serial.values()]
    assert found <= set.union(*orders), found - set.union(*orders)
    assert set.intersection(*orders) <= found, set.intersection(*orders) - found
    for engine in (*engines, *serial.values()):
        engine.dispose()


def _at_once(*calls):
    """Run the calls in threads released together; returns what each raised (or None)."""
    barrier = threading.Barrier(len(calls))
    raised: list = [None] * len(calls)

    def run(i, call):
        try:
            barrier.wait(timeout=30)
            call()
        except BaseException as exc:  # noqa: BLE001 - returned
            raised[i] = exc

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return raised


@pytest.mark.postgres
def test_two_findings_syncs_at_once_store_each_finding_once(pg_database):
    from channelwatch.findings import sync_findings

    engine = _warehouse(pg_database)
    found = [
        {
            "platform": "facebook",
            "item_id": f"i{n}",
            "rule": "moderation.insult",
            "category": "moderation",
            "severity": "medium",
            "evidence": "x",
        }
        for n in range(2000)
    ]

    raised = _at_once(
        lambda: sync_findings(engine, found, now=NOW), lambda: sync_findings(engine, found, now=NOW)
    )

    assert raised == [None, None]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(findings)).scalar_one() == 2000
        assert conn.execute(select(func.count()).select_from(finding_events)).scalar_one() == 2000
    engine.dispose()


@pytest.mark.postgres
def test_two_rebuilds_of_the_derived_tables_at_once_both_succeed(sandbox, pg_database, fake_tokens):
    from channelwatch.ingest import ingest_account
    from channelwatch.warehouse.derive import refresh_derived
    from channelwatch.warehouse.schema import item_responses

    engine = _warehouse(pg_database)
    settings = make_settings(sandbox.url, api={"page_size": 50})
    for platform in world.PLATFORMS:
        assert (
            ingest_account(settings, engine, platform, world.account(platform), now=NOW).status
            == "success"
        )

    raised = _at_once(
        lambda: refresh_derived(settings, engine, NOW),
        lambda: refresh_derived(settings, engine, NOW),
    )

    assert raised == [None, None]
    with engine.connect() as conn:
        public = conn.execute(select(func.count()).select_from(item_responses)).scalar_one()
    assert public > 0
    engine.dispose()


@pytest.mark.postgres
def test_two_passes_of_one_account_at_once_both_succeed(sandbox, pg_database, fake_tokens):
    engine = _warehouse(pg_database)
    settings = make_settings(sandbox.url, api={"page_size": 10})
    account = world.account("instagram")
    outcomes: list = [None, None]

    def ingest(i):
        outcomes[i] = pipeline.ingest(settings, engine, "instagram", account, now=NOW)

    raised = _at_once(lambda: ingest(0), lambda: ingest(1))

    assert raised == [None, None], raised
    assert sorted(o["items_new"] for o in outcomes)[0] == 0  # the second found it all there
    world.assert_matches(
        engine,
        "instagram",
        world.expected(sandbox.data, NOW)["instagram"],
        world.all_ids(sandbox.data)["instagram"],
    )
    world.assert_watermarks_not_ahead(engine, "instagram")
    engine.dispose()


def test_the_quality_gate_validates_each_threads_own_batch():
    from checks import quality
    from kernel.items import Item

    def batch(n, platform):
        return [
            Item(
                platform=platform,
                id=f"{platform}{i}",
                kind="post",
                account="a",
                author_id="u",
                author_name="U",
                is_own=True,
                parent_id=None,
                root_id=f"{platform}{i}",
                created_at=NOW,
                text="t",
            )
            for i in range(n)
        ]

    good, bad = batch(50, "facebook"), batch(50, "twitter")  # bad: the wrong platform
    results: dict[str, list] = {"good": [], "bad": []}

    def validate(name, items):
        for _ in range(5):
            results[name].append(
                quality.validate_batch(items, platform="facebook", accounts=["a"], now=NOW).success
            )

    assert _at_once(lambda: validate("good", good), lambda: validate("bad", bad)) == [None, None]
    assert results == {"good": [True] * 5, "bad": [False] * 5}
