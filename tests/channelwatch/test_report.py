"""The daily report: figures from the warehouse, safe rendering of what the public wrote,
the CSV and JSON beside it, any past day on demand."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select, update

from channelwatch.findings import ACTIVE, finding_id, sync_findings, transition
from channelwatch.report import build_report
from channelwatch.report.build import csv_cell, highlight, safe_url
from channelwatch.warehouse import load
from channelwatch.warehouse.schema import (
    findings,
    ingestion_runs,
    item_responses,
    quarantined_batches,
    reports,
)
from kernel.errors import UserError
from kernel.items import Item
from tests.channelwatch.reportday import Finding, build_days
from tests.conftest import ROOT, make_settings

DAY = date(2026, 11, 20)  # a Friday
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)


def settings_for(tmp_path, **report):
    return make_settings(report={"out_dir": str(tmp_path / "reports"), **report})


@pytest.fixture
def realistic(engine, tmp_path):
    settings = settings_for(tmp_path)
    day = build_days(engine, settings, end_day=DAY, days=8, per_day=10)
    return settings, day


def test_a_realistic_day(engine, realistic, tmp_path):
    settings, day = realistic
    paths = build_report(settings, engine, DAY, now=NOW)
    assert paths.html == tmp_path / "reports" / "2026-11-20" / "report.html"
    html = paths.html.read_text()
    summary = json.loads(paths.json.read_text())
    rows = list(csv.DictReader(io.StringIO(paths.csv.read_text())))

    for section in (
        "headline",
        "do-first",
        "section-safeguarding",
        "section-foi",
        "section-overdue_unanswered",
        "section-advertising_political",
        "new-vs-carried",
        "trends",
        "pipeline-health",
    ):
        assert f'id="{section}"' in html, section
    assert html.count("<svg") == 2 and "<script" not in html.lower()
    # Self-contained: nothing is loaded from elsewhere (links to the posts are fine).
    assert not re.search(r"<(img|link|iframe)\b|\bsrc=|url\(", html)

    # The headline figures are the warehouse's, as of the report's instant.
    with engine.connect() as conn:
        by_status = dict(
            conn.execute(select(findings.c.status, func.count()).group_by(findings.c.status)).all()
        )
        new_today = conn.execute(
            select(func.count())
            .select_from(findings)
            .where(findings.c.detected_at >= datetime(2026, 11, 20, tzinfo=timezone.utc))
        ).scalar()
    assert summary["totals"]["open"] == sum(by_status.get(s, 0) for s in ACTIVE)
    assert summary["totals"]["new"] == new_today > 0
    assert summary["totals"]["closed"] > 0  # replies and deletions resolve findings
    assert (
        summary["do_first"]["safeguarding"]["total"]
        == summary["findings_by_category"]["safeguarding"]["open"]
    )
    assert [c["platform"] for c in summary["channels"]] == [
        "facebook",
        "instagram",
        "youtube",
        "twitter",
    ]
    for ch in summary["channels"]:
        r = ch["responsiveness"]
        assert r["needing_reply"] >= r["replied"] >= r["replied_within_target"]
        if r["replied"]:
            assert 0 <= r["median_hours"] <= r["p90_hours"]
    assert len(summary["trends"]["days"]) == 30 and summary["trends"]["days"][-1] == "2026-11-20"
    per_day = [
        sum(v[i] for v in summary["trends"]["findings_per_category"].values()) for i in range(30)
    ]
    assert per_day[:22] == [0] * 22 and all(per_day[22:])  # eight days of data
    assert summary["pipeline"]["not_ingested"] == []

    # The CSV: every finding active then, new that day or closed that day.
    assert list(rows[0]) == [
        "finding_id",
        "status",
        "new_today",
        "category",
        "rule",
        "severity",
        "route",
        "who_must_act",
        "platform",
        "account_id",
        "channel",
        "item_id",
        "item_url",
        "item_created_at",
        "detected_at",
        "due_at",
        "overdue",
        "evidence",
        "item_text",
    ]
    active = [r for r in rows if r["status"] in ACTIVE]
    assert len(active) == summary["totals"]["open"]
    assert sum(r["new_today"] == "no" for r in active) == summary["totals"]["carried_over"] > 0
    assert sum(r["new_today"] == "yes" for r in rows) == summary["totals"]["new"]
    assert {r["status"] for r in rows} - set(ACTIVE) <= {"resolved", "dismissed"}

    with engine.connect() as conn:
        row = conn.execute(select(reports)).one()
    assert row.report_date == "2026-11-20" and row.html_path == str(paths.html.resolve())
    assert row.summary["totals"] == summary["totals"] and row.delivered_at is None


def test_what_the_public_wrote_shows_as_text(sqlite_engine, tmp_path):
    settings = settings_for(tmp_path)
    fb = settings.accounts.facebook[0].id
    evil = (
        'Hi <script>alert("x")</script> and <img src=x onerror=alert(1)> '
        '"quoted" & <b>bold</b> </td></table><a href="javascript:alert(2)">win</a>'
    )
    created = NOW - timedelta(hours=5)
    comment = Item(
        "facebook",
        "c666",
        "comment",
        fb,
        "u1",
        '<i onmouseover="x()">Eve</i>',
        False,
        "p1",
        "p1",
        created,
        evil,
        "javascript:alert(3)",
        {},
    )
    with sqlite_engine.begin() as conn:
        load.sync_accounts(conn, settings, NOW)
        load.load_items(conn, "r", [comment], NOW)
    start = evil.index("<script>")
    sync_findings(
        sqlite_engine,
        [
            Finding(
                "c666",
                "facebook",
                "safeguarding",
                "safeguarding.concern",
                "high",
                'matched "<script>alert(\\"x\\")</script>"',
                "safeguarding_lead",
                NOW,
                NOW,
                (start, evil.index("</script>") + len("</script>")),
            )
        ],
        now=NOW,
    )
    html = build_report(settings, sqlite_engine, DAY, now=NOW).html.read_text()

    assert "<script" not in html.lower() and "onerror=alert" not in html.replace(
        "onerror=alert(1)&gt;", ""
    )
    assert "<img" not in html and "<b>bold" not in html and 'href="javascript' not in html
    assert "javascript:alert(3)" not in html  # not a link, not shown as one
    assert (
        '<mark style="background:#fde68a;color:#111827;">&lt;script&gt;alert(&#34;x&#34;)'
        "&lt;/script&gt;</mark>" in html
    )
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;i onmouseover=&#34;x()&#34;&gt;Eve&lt;/i&gt;" in html
    assert html.count("</table>") == html.count("<table")  # the layout is intact


def test_highlight_and_links():
    text = "Contact me on 07700 900456 😀 please"
    assert highlight(text, 14, 26) == ("Contact me on ", "07700 900456", " 😀 please")
    assert highlight("😀😀 bad", 3, 6) == ("😀😀 ", "bad", "")  # code points, as Python counts
    assert highlight(text, 30, 90) == (text, "", "")  # a stale span is not highlighted
    assert highlight(text, None, None) == (text, "", "")
    assert highlight(None, 0, 3) == ("", "", "")
    long = "a" * 1000 + "NEEDLE" + "b" * 1000
    before, match, after = highlight(long, 1000, 1006)
    assert match == "NEEDLE" and before.startswith("…") and after.endswith("…")
    assert len(before) < 300 and len(after) < 400
    assert safe_url("https://www.facebook.com/1_2") == "https://www.facebook.com/1_2"
    for bad in (
        "javascript:alert(1)",
        " JAVASCRIPT:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        "//evil.example",
        "https://x.example/a b",
        None,
        "",
    ):
        assert safe_url(bad) is None


def test_the_csv_cannot_run_formulas(sqlite_engine, tmp_path):
    settings = settings_for(tmp_path)
    fb = settings.accounts.facebook[0].id
    text = '=HYPERLINK("http://evil.example","click")'
    with sqlite_engine.begin() as conn:
        load.sync_accounts(conn, settings, NOW)
        load.load_items(
            conn,
            "r",
            [
                Item(
                    "facebook",
                    "c1",
                    "comment",
                    fb,
                    "u1",
                    "X",
                    False,
                    "p1",
                    "p1",
                    NOW - timedelta(hours=3),
                    text,
                    None,
                    {},
                )
            ],
            NOW,
        )
    sync_findings(
        sqlite_engine,
        [
            Finding(
                "c1",
                "facebook",
                "third_party_advertising",
                "third_party_advertising.comment_spam",
                "low",
                "+44 spam",
                "comms",
                None,
                NOW,
            )
        ],
        now=NOW,
    )
    rows = list(
        csv.DictReader(
            io.StringIO(build_report(settings, sqlite_engine, DAY, now=NOW).csv.read_text())
        )
    )
    assert rows[0]["item_text"] == "'" + text and rows[0]["evidence"] == "'+44 spam"
    assert [csv_cell(v) for v in ("-1", "@x", "ok", 3, "\t=1")] == ["'-1", "'@x", "ok", 3, "'\t=1"]


def test_a_past_day_renders_as_it_stood(engine, tmp_path):
    settings = settings_for(tmp_path)
    fb = settings.accounts.facebook[0].id
    d1 = datetime(2026, 11, 16, 12, 0, tzinfo=timezone.utc)
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, d1)
        load.load_items(
            conn,
            "r",
            [
                Item(
                    "facebook",
                    "c1",
                    "comment",
                    fb,
                    "u1",
                    "X",
                    False,
                    "p1",
                    "p1",
                    d1 - timedelta(hours=1),
                    "Vote for X",
                    None,
                    {},
                )
            ],
            d1,
        )
    sync_findings(
        engine,
        [
            Finding(
                "c1",
                "facebook",
                "moderation",
                "moderation.abuse",
                "high",
                "x",
                "comms",
                d1 + timedelta(hours=4),
                d1,
            )
        ],
        now=d1,
    )
    fid = finding_id("facebook", "c1", "moderation.abuse")
    transition(engine, fid, "ack", "alice", now=d1 + timedelta(days=1))
    transition(engine, fid, "resolve", "alice", "hidden", now=d1 + timedelta(days=2))

    def summary(day):
        paths = build_report(settings, engine, day, now=d1 + timedelta(days=5))
        return json.loads(paths.json.read_text()), list(
            csv.DictReader(io.StringIO(paths.csv.read_text()))
        )

    s16, c16 = summary(date(2026, 11, 16))
    assert s16["totals"] == {"new": 1, "open": 1, "overdue": 1, "carried_over": 0, "closed": 0}
    assert [r["status"] for r in c16] == ["new"]
    s17, c17 = summary(date(2026, 11, 17))
    assert s17["totals"]["carried_over"] == 1 and [r["status"] for r in c17] == ["acknowledged"]
    s18, c18 = summary(date(2026, 11, 18))
    assert s18["totals"]["open"] == 0 and s18["totals"]["closed"] == 1
    assert [r["status"] for r in c18] == ["resolved"]
    s19, c19 = summary(date(2026, 11, 19))
    assert s19["totals"]["closed"] == 0 and c19 == []
    with pytest.raises(UserError, match="in the future"):
        build_report(settings, engine, date(2026, 11, 22), now=d1 + timedelta(days=5))


def test_response_times_are_median_and_nearest_rank_p90(engine, tmp_path):
    settings = settings_for(tmp_path)
    fb = settings.accounts.facebook[0].id
    created = NOW - timedelta(days=3)
    hours = [0.5, 1, 2, 3, 4, 5, 6, 7, 9, 30]  # 10 answered: median 4.5, p90 (9th) 9
    rows = [
        {
            "platform": "facebook",
            "item_id": f"c{i}",
            "account_id": fb,
            "created_at": created,
            "created_epoch": int(created.timestamp()),
            "needs_reply": True,
            "first_reply_id": f"r{i}",
            "first_reply_at": created + timedelta(hours=h),
            "response_business_hours": h,
            "computed_at": NOW,
        }
        for i, h in enumerate(hours)
    ]
    rows += [
        {
            "platform": "facebook",
            "item_id": f"u{i}",
            "account_id": fb,
            "created_at": created,
            "created_epoch": int(created.timestamp()),
            "needs_reply": need,
            "first_reply_id": None,
            "first_reply_at": None,
            "response_business_hours": None,
            "computed_at": NOW,
        }
        for i, need in enumerate((True, True, False))
    ]
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, NOW)
        conn.execute(insert(item_responses), rows)
    summary = json.loads(build_report(settings, engine, DAY, now=NOW).json.read_text())
    fb_resp = summary["channels"][0]["responsiveness"]
    assert fb_resp == {
        "needing_reply": 12,
        "replied": 10,
        "replied_within_target": 8,
        "reply_rate": 10 / 12,
        "within_target_rate": 8 / 12,
        "median_hours": 4.5,
        "p90_hours": 9.0,
    }
    day_index = summary["trends"]["days"].index("2026-11-17")
    assert summary["trends"]["median_first_response_hours"][f"facebook:{fb}"][day_index] == 4.5
    # A reply after the report's instant does not count for that day.
    earlier = json.loads(
        build_report(settings, engine, date(2026, 11, 17), now=NOW).json.read_text()
    )
    assert earlier["channels"][0]["responsiveness"]["replied"] == sum(
        1
        for h in hours
        if created + timedelta(hours=h) < datetime(2026, 11, 18, tzinfo=timezone.utc)
    )


def test_pipeline_health(engine, tmp_path):
    settings = settings_for(tmp_path)
    fb = settings.accounts.facebook[0].id
    yt = settings.accounts.youtube[0].id
    with engine.begin() as conn:
        load.sync_accounts(conn, settings, NOW)
        for platform, account in settings.accounts.all():
            if platform == "twitter":
                continue  # never ingested
            run = load.start_run(conn, platform, account.id, now=NOW - timedelta(hours=3))
            load.finish_run(
                conn, run, "success", load.LoadStats(seen=5, new=5), now=NOW - timedelta(hours=3)
            )
        conn.execute(
            update(ingestion_runs)
            .where(ingestion_runs.c.platform == "youtube")
            .values(api_calls=40, quota_units=2500)
        )
        bad = load.start_run(conn, "facebook", fb, now=NOW - timedelta(hours=1))
        load.finish_run(
            conn,
            bad,
            "failed",
            load.LoadStats(),
            error="HTTP 500 from graph.facebook.com\ntraceback...",
            now=NOW - timedelta(hours=1),
        )
        conn.execute(
            insert(quarantined_batches).values(
                run_id=bad,
                platform="facebook",
                account_id=fb,
                quarantined_at=NOW - timedelta(hours=1),
                item_count=7,
                failed_expectations=["expect_column_values_to_not_be_null"],
                validation_result={},
                items=[],
            )
        )
    paths = build_report(settings, engine, DAY, now=NOW)
    summary = json.loads(paths.json.read_text())["pipeline"]
    assert summary["not_ingested"] == ["twitter:2244994945"]
    assert summary["failed_runs"] == 1 and summary["quarantined_today"] == 1
    assert summary["quarantined_items_held"] == 7 and summary["quota_units"] == 2500
    youtube = next(a for a in summary["accounts"] if a["account_id"] == yt)
    assert youtube["daily_quota"] == 10_000 and youtube["api_calls"] == 40
    html = paths.html.read_text()
    assert "1 account not ingested" in html and "HTTP 500 from graph.facebook.com" in html
    assert "traceback" not in html and "expect_column_values_to_not_be_null" in html
    assert "2500 of 10000 (25%)" in html


def test_rendering_again_keeps_the_delivery(sqlite_engine, tmp_path):
    settings = settings_for(tmp_path)
    build_report(settings, sqlite_engine, DAY, now=NOW)
    with sqlite_engine.begin() as conn:
        conn.execute(update(reports).values(delivered_at=NOW, delivered_to="a@example.org"))
    build_report(settings, sqlite_engine, DAY, now=NOW + timedelta(hours=1))
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(reports)).one()
    assert row.delivered_to == "a@example.org" and row.generated_at == NOW + timedelta(hours=1)


@pytest.mark.slow
def test_report_command_renders_any_past_day(sqlite_engine, tmp_path):
    settings = settings_for(tmp_path)
    build_days(sqlite_engine, settings, end_day=DAY, days=3, per_day=6)
    config = tmp_path / "cw.yml"
    config.write_text(f"report:\n  out_dir: {tmp_path / 'out'}\n")
    env = {**os.environ, "WAREHOUSE_URL": sqlite_engine.url.render_as_string(False)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "channelwatch",
            "report",
            "--date",
            "2026-11-19",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(tmp_path / "out" / "2026-11-19" / "report.html")
    assert (
        "Thursday 19 November 2026" in (tmp_path / "out" / "2026-11-19" / "report.html").read_text()
    )
    bad = subprocess.run(
        [
            sys.executable,
            "-m",
            "channelwatch",
            "report",
            "--date",
            "19/11/2026",
            "--config",
            str(config),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert bad.returncode == 2
    assert bad.stderr == "channelwatch: error: --date '19/11/2026' is not a date (YYYY-MM-DD)\n"
