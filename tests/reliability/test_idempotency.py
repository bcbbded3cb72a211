"""Idempotency: running a day again, or backfilling a past one, changes nothing.

The whole day runner (channelwatch.pipeline.run_day: ingest every account through the
quality gate, derive, validate, check, sync findings, report) over the four platforms of
the sandbox, on both dialects:

1. Monday's day is run just after it ends; Tuesday's is run on Tuesday afternoon.
2. Tuesday is run again at the same instant: every table but the log of ingestion runs is
   row for row what the first run left, and so is the report.
3. Monday is backfilled on Tuesday afternoon, with Tuesday's data already in: the
   backfill asks the platforms for Monday's window, so the raw pages it received are
   appended to raw_payloads (the record of every response), and otherwise the warehouse
   is again unchanged — no item, no watermark, no finding reopened, resolved or re-detected because the
   checks looked at an older instant — Monday's report is what it was before the
   backfill (and, in its figures and findings' states, what was rendered on Monday
   night), and Tuesday's report renders as before.

"The report is the same" means findings.csv byte for byte, and report.html and
summary.json byte for byte except the run log they quote: the pipeline-health section
(runs today, API calls, quota units) and the "ingested today" column count the runs of the
day, and a second run is a run. Monday's backfill is such a run too: its passes are
stamped with Monday's as-of time, so they count among Monday's runs.
"""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import MetaData, select

from channelwatch import pipeline
from tests.conftest import make_settings
from tests.reliability import world

MONDAY, TUESDAY = date(2026, 3, 2), date(2026, 3, 3)
MONDAY_NIGHT = datetime(2026, 3, 3, 1, 0, tzinfo=timezone.utc)  # London is on GMT
TUESDAY_AFTERNOON = datetime(2026, 3, 3, 15, 0, tzinfo=timezone.utc)
# Rows that record *that* a run happened (a log, not state): they grow with every run.
LOGS = {"ingestion_runs", "ingestion_run_endpoints", "alembic_version"}
# item_responses.computed_at is when the derived table was last rebuilt; the reports row
# keeps the summary, checked through the files below.
VOLATILE = {"item_responses": {"computed_at"}, "reports": {"summary"}}


def snapshot(engine) -> dict[str, list[tuple]]:
    """Every table's rows as sorted text tuples, but the run logs."""
    meta = MetaData()
    meta.reflect(engine)
    out = {}
    with engine.connect() as conn:
        for name, table in sorted(meta.tables.items()):
            if name in LOGS:
                continue
            cols = [c for c in table.columns if c.name not in VOLATILE.get(name, ())]
            out[name] = sorted(tuple(map(repr, row)) for row in conn.execute(select(*cols)))
    return out


def files(paths: dict) -> dict[str, bytes]:
    return {kind: Path(paths[kind]).read_bytes() for kind in ("html", "csv", "json")}


def without_run_log(report: dict[str, bytes]) -> dict[str, bytes]:
    """The report less the figures that count the day's runs (see the module docstring)."""
    html = report["html"].decode()
    start, end = html.index('id="pipeline-health"'), html.index("<!-- footer -->")
    html = html[:start] + html[end:]
    html = re.sub(r'(<td class="c n" class="wide">)\d+(</td>)', r"\1#\2", html)
    summary = json.loads(report["json"])
    summary.pop("pipeline")
    for channel in summary["channels"]:
        channel["items_today"].pop("fetched")
    return {
        "html": html.encode(),
        "csv": report["csv"],
        "json": json.dumps(summary, sort_keys=True).encode(),
    }


def lifecycle(findings_csv: bytes) -> list[tuple]:
    """The findings of a report's CSV with the columns that say what happened to them."""
    rows = list(csv.DictReader(io.StringIO(findings_csv.decode())))
    keep = (
        "finding_id",
        "status",
        "new_today",
        "category",
        "rule",
        "severity",
        "route",
        "item_id",
        "detected_at",
    )
    return [tuple(r[k] for k in keep) for r in rows]


def diff(a: dict, b: dict) -> list[str]:
    return [name for name in sorted(set(a) | set(b)) if a.get(name) != b.get(name)]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from sandbox import server

    data = world.build_dataset(tmp_path_factory.mktemp("days") / "data")
    running = server.start(data)
    yield running
    running.stop()


def test_a_day_run_twice_and_a_past_day_backfilled_change_nothing(
    sandbox, engine, fake_tokens, tmp_path
):
    settings = make_settings(
        sandbox.url, api={"page_size": 25}, report={"out_dir": str(tmp_path / "reports")}
    )

    def run(day, now):
        sandbox.sandbox.store.clock = now
        out = pipeline.run_day(settings, engine, day, now=now)
        assert not out["failed"], out["failed"]
        assert not out["validate"]["quarantined"], out["validate"]["summary"]
        return out

    monday = run(MONDAY, MONDAY_NIGHT)
    monday_report = files(monday["report"])
    tuesday = run(TUESDAY, TUESDAY_AFTERNOON)
    assert tuesday["ingest"] and sum(f["items_new"] for f in tuesday["ingest"]) > 0
    assert tuesday["check"]["findings"] > 0
    state = snapshot(engine)
    tuesday_report = files(tuesday["report"])

    again = run(TUESDAY, TUESDAY_AFTERNOON)

    assert all(
        f["items_new"] == f["items_changed"] == f["items_deleted"] == 0 for f in again["ingest"]
    )
    assert again["check"]["detected"] == again["check"]["resolved"] == 0
    assert diff(state, snapshot(engine)) == []
    assert without_run_log(files(again["report"])) == without_run_log(tuesday_report)

    monday_now = files(
        pipeline.report(settings, engine, MONDAY, now=datetime.fromisoformat(monday["as_of"]))
    )

    backfill = run(MONDAY, TUESDAY_AFTERNOON)

    assert backfill["as_of"] == monday["as_of"]
    after = snapshot(engine)
    assert diff(state, after) in ([], ["raw_payloads"])
    assert set(state["raw_payloads"]) <= set(after["raw_payloads"])  # appended, never changed
    assert without_run_log(files(backfill["report"])) == without_run_log(monday_now)
    # Against the report rendered on Monday night: the same figures and the same findings
    # in the same states; the evidence, deadline and text shown are each finding's latest
    # (docs/report.md), so a finding refreshed on Tuesday quotes Tuesday's evidence.
    assert monday_now["json"] == monday_report["json"]
    assert lifecycle(monday_now["csv"]) == lifecycle(monday_report["csv"])
    rerendered = pipeline.report(settings, engine, TUESDAY, now=TUESDAY_AFTERNOON)
    assert without_run_log(files(rerendered)) == without_run_log(tuesday_report)


def test_a_sync_at_an_earlier_instant_leaves_later_decisions_alone(engine):
    from channelwatch.findings import sync_findings, transition
    from channelwatch.warehouse.schema import findings as table

    def fire(item, evidence):
        return {
            "platform": "facebook",
            "item_id": item,
            "rule": "unanswered.sla_breach",
            "category": "unanswered",
            "severity": "medium",
            "route": "comms",
            "evidence": evidence,
        }

    monday = datetime(2026, 3, 2, 23, 0, tzinfo=timezone.utc)
    tuesday = monday + timedelta(hours=16)
    sync_findings(
        engine,
        [fire("a", "8 h"), fire("b", "8 h"), fire("c", "8 h")],
        now=monday,
        scope=[("facebook", i) for i in "abc"],
    )
    sync_findings(
        engine,
        [fire("a", "14 h"), fire("c", "14 h")],
        now=tuesday,
        scope=[("facebook", i) for i in "abc"],
    )  # b answered on Tuesday
    with engine.begin() as conn:
        c = conn.execute(select(table.c.finding_id).where(table.c.item_id == "c")).scalar_one()
        transition(conn, c, "dismiss", "ann", "a duplicate", now=tuesday + timedelta(hours=1))
    before = snapshot(engine)

    # Monday again: every rule fires as it did then, "a" and "c" are not in scope.
    result = sync_findings(
        engine,
        [fire("a", "8 h"), fire("b", "8 h"), fire("c", "8 h")],
        now=monday,
        scope=[("facebook", "b")],
    )

    assert (result.detected, result.refreshed, result.resolved, result.reopened) == (0, 0, 0, 0)
    assert diff(before, snapshot(engine)) == []
