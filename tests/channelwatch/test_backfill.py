"""A past day runs as it stood then: `run_day` for a day in the past asks the platforms for
the window that ends at that day, and everything the pass records carries that day's
as-of time, never the machine's clock — on SQLite and PostgreSQL, against the sandbox
over HTTP.

The machine's clock in these tests is CLOCK, a fixed instant years after the data; the
sandbox serves what it holds at its own (real) clock, which is later than the data on any
date these tests run.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import func, select

from channelwatch import pipeline
from channelwatch.warehouse.schema import (
    finding_events,
    findings,
    ingestion_runs,
    items,
    reports,
    watermarks,
)
from tests.conftest import make_settings

CLOCK = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)  # "now" for the pass
DAY = date(2021, 6, 1)
DATA_END = datetime(2021, 6, 3, 12, 0, tzinfo=timezone.utc)  # data runs two days past DAY


def _sandbox(tmp_path, sandbox_factory, end=DATA_END, days=9):
    from sandbox.generate import generate

    generate(tmp_path / "data", days, 8, seed=5, end=end)
    return sandbox_factory(tmp_path / "data")


def _end_of(day: date, settings) -> datetime:
    end = datetime.combine(day + timedelta(days=1), time(0), settings.business_hours.zone)
    return end.astimezone(timezone.utc) - timedelta(microseconds=1)


def test_a_past_day_ingests_the_window_ending_that_day_and_records_its_as_of_time(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    sandbox = _sandbox(tmp_path, sandbox_factory)
    settings = make_settings(sandbox.url, report={"out_dir": str(tmp_path / "reports")})
    as_of = _end_of(DAY, settings)

    out = pipeline.run_day(settings, engine, DAY, now=CLOCK)

    assert out["failed"] == [] and out["backfill"] is True
    assert out["as_of"] == as_of.isoformat()
    seen = {f["platform"]: f["items_seen"] for f in out["ingest"]}
    assert all(n > 0 for n in seen.values()), seen  # was 0 items: the real clock's window
    with engine.connect() as conn:
        latest = conn.execute(select(func.max(items.c.created_at))).scalar_one()
        runs = conn.execute(select(ingestion_runs)).all()
        marks = conn.execute(select(func.count()).select_from(watermarks)).scalar_one()
        deleted = conn.execute(
            select(func.count()).select_from(items).where(items.c.deleted_at.is_not(None))
        ).scalar_one()
        event_times = set(conn.execute(select(finding_events.c.at)).scalars())
        detected = set(conn.execute(select(findings.c.detected_at)).scalars())
        report = conn.execute(select(reports.c.generated_at)).scalar_one()
    # Nothing written after the end of the day is stored, though the sandbox serves it.
    assert latest <= as_of
    # The runs, the findings' system events and the report are stamped with the day's
    # as-of time; the machine's clock is kept apart, in wall_* columns.
    assert {(r.started_at, r.finished_at) for r in runs} == {(as_of, as_of)}
    assert all(
        r.backfill and r.wall_started_at is not None and r.wall_finished_at >= r.wall_started_at
        for r in runs
    )
    assert event_times and event_times == {as_of}
    assert detected and max(detected) <= as_of
    assert report == as_of
    # A backfill moves no watermark and marks nothing deleted.
    assert marks == 0 and deleted == 0


def test_a_live_pass_after_a_backfill_sees_the_rest_and_moves_the_watermarks(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    sandbox = _sandbox(tmp_path, sandbox_factory)
    settings = make_settings(sandbox.url)
    fb = settings.accounts.facebook[0].id
    as_of = _end_of(DAY, settings)
    past = pipeline.ingest(settings, engine, "facebook", fb, now=as_of, until=as_of)
    # Live, as of the end of the data: the days after DAY arrive, the watermark moves.
    live = pipeline.ingest(settings, engine, "facebook", fb, now=DATA_END)
    assert past["items_seen"] > 0 and live["items_new"] > 0
    with engine.connect() as conn:
        later = conn.execute(
            select(func.count())
            .select_from(items)
            .where(items.c.platform == "facebook", items.c.created_at > as_of)
        ).scalar_one()
        mark = conn.execute(
            select(watermarks.c.value).where(watermarks.c.platform == "facebook")
        ).scalar_one()
    assert later > 0 and mark > as_of.isoformat()


def test_an_empty_window_of_an_account_with_earlier_activity_is_a_warning(
    engine, sandbox_factory, fake_tokens, tmp_path
):
    sandbox = _sandbox(tmp_path, sandbox_factory)
    settings = make_settings(sandbox.url)
    fb = settings.accounts.facebook[0].id
    first = pipeline.ingest(settings, engine, "facebook", fb, now=DATA_END)
    assert first["items_seen"] > 0 and first["warning"] is None
    # A later pass that gets nothing at all (a token that sees no posts, a wrong window):
    # the watermarks say the account was active, so it is called out, not passed in silence.
    later = pipeline.ingest(
        settings, engine, "facebook", fb, now=CLOCK, factory=lambda *a: _Nothing()
    )
    assert later["status"] == "success" and later["items_seen"] == 0
    assert later["warning"].startswith(
        f"warning: facebook account {fb}: the platform returned no items for 2026-11-"
    )
    assert "watermarks show earlier activity" in later["warning"]
    # The same for a backfill of a window the warehouse holds items of.
    empty = pipeline.ingest(
        settings,
        engine,
        "facebook",
        fb,
        now=DATA_END,
        until=DATA_END,
        factory=lambda *a: _Nothing(),
    )
    assert "the warehouse holds" in empty["warning"]


class _Nothing:
    """A connector whose platform answers with nothing (what a token that sees no posts
    gets): the pipeline's reaction is what is under test."""

    platform = "facebook"

    def fetch(self, state):
        return iter(())

    def result(self):
        from connectors.base import FetchResult

        return FetchResult()
