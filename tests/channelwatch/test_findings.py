"""Findings in the warehouse: upserts, the lifecycle, people's actions, the CLI workflow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from channelwatch.findings import (
    finding_id,
    get_finding,
    list_findings,
    sync_findings,
    transition,
)
from channelwatch.warehouse import load
from channelwatch.warehouse.schema import finding_events, findings, items
from kernel.errors import UserError
from kernel.items import Item
from tests.channelwatch.reportday import Finding
from tests.conftest import ROOT, make_settings

SETTINGS = make_settings()
FB = SETTINGS.accounts.facebook[0].id
YT = SETTINGS.accounts.youtube[0].id
DAY1 = datetime(2026, 11, 16, 18, 0, tzinfo=timezone.utc)  # Monday evening, London = UTC
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)


def item(
    item_id, text, *, own=False, platform="facebook", account=FB, at=DAY1 - timedelta(hours=6)
):
    return Item(
        platform,
        item_id,
        "comment" if not own else "post",
        account,
        account if own else f"u-{item_id}",
        "Council" if own else "Resident",
        own,
        None if own else "p1",
        "p1" if not own else item_id,
        at,
        text,
        f"https://{platform}.example/{item_id}",
        {},
    )


def finding(
    item_id,
    rule,
    *,
    platform="facebook",
    evidence="x",
    severity="medium",
    route="comms",
    due=None,
    at=DAY1,
    span=None,
):
    return Finding(
        item_id, platform, rule.split(".")[0], rule, severity, evidence, route, due, at, span
    )


def load_items(engine, batch, now=DAY1):
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS, now)
        load.load_items(conn, "run-test", batch, now)


def statuses(engine):
    with engine.connect() as conn:
        return {(r.item_id, r.rule): r.status for r in conn.execute(select(findings))}


def events(engine, fid):
    with engine.connect() as conn:
        return [
            (e.actor, e.action, e.from_status, e.to_status, e.reason)
            for e in conn.execute(
                select(finding_events)
                .where(finding_events.c.finding_id == fid)
                .order_by(finding_events.c.event_id)
            )
        ]


def test_rerunning_the_checks_never_duplicates_a_finding(engine):
    load_items(engine, [item("c1", "What time does the tip open?")])
    found = [finding("c1", "unanswered.sla_breach", evidence="no reply after 9 h")]
    first = sync_findings(engine, found, now=DAY1)
    again = sync_findings(engine, found, now=DAY1 + timedelta(minutes=5))
    fid = finding_id("facebook", "c1", "unanswered.sla_breach")
    assert first.detected == 1 and first.new_ids == [fid]
    assert again.detected == 0 and again.unchanged == 1
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(findings)).scalar() == 1
        row = conn.execute(select(findings)).one()
    assert row.finding_id == fid and len(fid) == 40 and row.status == "new"
    assert events(engine, fid) == [("channelwatch", "detected", None, "new", "no reply after 9 h")]
    # Seen again with new evidence: refreshed in place, status and detection time kept.
    sync_findings(
        engine,
        [finding("c1", "unanswered.sla_breach", evidence="no reply after 12 h", severity="high")],
        now=DAY1 + timedelta(hours=1),
    )
    with engine.connect() as conn:
        row = conn.execute(select(findings)).one()
    assert (row.evidence, row.severity, row.status) == ("no reply after 12 h", "high", "new")
    assert row.detected_at == DAY1
    assert len(events(engine, fid)) == 1


def test_a_new_finding_is_open_the_next_day(engine):
    load_items(engine, [item("c1", "bad word")])
    sync_findings(engine, [finding("c1", "moderation.abuse")], now=DAY1)
    assert statuses(engine) == {("c1", "moderation.abuse"): "new"}
    sync_findings(engine, [finding("c1", "moderation.abuse")], now=DAY1 + timedelta(hours=5))
    assert statuses(engine) == {("c1", "moderation.abuse"): "new"}  # 23:00 the same day
    result = sync_findings(engine, [finding("c1", "moderation.abuse")], now=DAY2)
    assert result.opened == 1
    assert statuses(engine) == {("c1", "moderation.abuse"): "open"}
    fid = finding_id("facebook", "c1", "moderation.abuse")
    assert events(engine, fid)[-1][:4] == ("channelwatch", "opened", "new", "open")
    assert "carried over" in events(engine, fid)[-1][4]
    sync_findings(engine, [finding("c1", "moderation.abuse")], now=DAY2 + timedelta(hours=1))
    assert len(events(engine, fid)) == 2


def test_unanswered_is_resolved_when_the_council_replies_but_only_for_checked_items(engine):
    load_items(engine, [item("c1", "Where is my bin?"), item("c2", "Pothole on the A329?")])
    sync_findings(
        engine,
        [finding("c1", "unanswered.sla_breach"), finding("c2", "unanswered.sla_breach")],
        now=DAY1,
    )
    # The council replied to c1; this run checked c1 only (c2's thread was not re-read).
    result = sync_findings(engine, [], now=DAY2, scope=[("facebook", "c1")])
    assert result.resolved == 1
    assert statuses(engine) == {
        ("c1", "unanswered.sla_breach"): "resolved",
        ("c2", "unanswered.sla_breach"): "open",
    }
    actor, action, old, new, reason = events(
        engine, finding_id("facebook", "c1", "unanswered.sla_breach")
    )[-1]
    assert (actor, action, old, new) == ("channelwatch", "resolved", "new", "resolved")
    assert "replied" in reason
    # No scope: a partial run resolves nothing.
    sync_findings(engine, [], now=DAY2)
    assert statuses(engine)[("c2", "unanswered.sla_breach")] == "open"


def test_a_deleted_item_resolves_its_findings_but_not_safeguarding_or_foi(engine):
    load_items(
        engine,
        [
            item("c1", "you idiots"),
            item("c2", "I want to end my life"),
            item("c3", "Under the FOI Act please send"),
        ],
    )
    found = [
        finding("c1", "moderation.abuse"),
        finding("c2", "safeguarding.concern", severity="high", route="safeguarding_lead"),
        finding("c3", "foi_request.received", route="information_compliance"),
    ]
    sync_findings(engine, found, now=DAY1)
    with engine.begin() as conn:
        conn.execute(
            update(items)
            .where(items.c.item_id.in_(["c1", "c2", "c3"]))
            .values(deleted_at=DAY2 - timedelta(hours=1))
        )
    result = sync_findings(engine, [], now=DAY2, scope=[])
    assert statuses(engine) == {
        ("c1", "moderation.abuse"): "resolved",
        ("c2", "safeguarding.concern"): "open",
        ("c3", "foi_request.received"): "open",
    }
    assert result.noted == 2
    assert events(engine, finding_id("facebook", "c1", "moderation.abuse"))[-1][4] == "item deleted"
    noted = events(engine, finding_id("facebook", "c2", "safeguarding.concern"))[-2]
    assert noted[1] == "noted" and noted[2] == noted[3] == "new" and "stands" in noted[4]
    sync_findings(engine, [], now=DAY3, scope=[])  # noted once, not every run
    assert [e[1] for e in events(engine, finding_id("facebook", "c2", "safeguarding.concern"))] == [
        "detected",
        "noted",
        "opened",
    ]


def test_safeguarding_is_never_closed_by_the_system(engine):
    load_items(engine, [item("c1", "kids left alone")])
    sync_findings(engine, [finding("c1", "safeguarding.concern")], now=DAY1)
    sync_findings(engine, [], now=DAY2, scope=[("facebook", "c1")])
    assert statuses(engine) == {("c1", "safeguarding.concern"): "open"}


def test_a_persons_decision_stands_unless_the_item_is_edited(engine):
    load_items(engine, [item("p9", "Vote for Jane Smith!", own=True)])
    rule = "off_brand.political"
    fid = finding_id("facebook", "p9", rule)
    sync_findings(engine, [finding("p9", rule)], now=DAY1)
    transition(
        engine,
        fid,
        "dismiss",
        "alice",
        "a quote in a news story, not campaigning",
        now=DAY1 + timedelta(hours=1),
    )
    sync_findings(engine, [finding("p9", rule)], now=DAY2, scope=[("facebook", "p9")])
    assert statuses(engine)[("p9", rule)] == "dismissed"
    assert [e[1] for e in events(engine, fid)] == ["detected", "dismissed"]
    # The post is edited after the decision and the rule still fires: reopened.
    load_items(
        engine,
        [item("p9", "Vote for Jane Smith and the Progress Party!", own=True)],
        now=DAY3 - timedelta(hours=2),
    )
    result = sync_findings(engine, [finding("p9", rule)], now=DAY3, scope=[("facebook", "p9")])
    assert result.reopened == 1
    actor, action, old, new, reason = events(engine, fid)[-1]
    assert (actor, action, old, new) == ("channelwatch", "reopened", "dismissed", "open")
    assert "edited after alice marked it dismissed" in reason


def test_an_automatic_resolution_is_undone_when_the_rule_fires_again(engine):
    load_items(engine, [item("c1", "Where is my bin?")])
    rule = "unanswered.sla_breach"
    sync_findings(engine, [finding("c1", rule)], now=DAY1)
    sync_findings(engine, [], now=DAY2, scope=[("facebook", "c1")])  # the reply...
    assert statuses(engine)[("c1", rule)] == "resolved"
    sync_findings(engine, [finding("c1", rule)], now=DAY3, scope=[("facebook", "c1")])  # ...deleted
    assert statuses(engine)[("c1", rule)] == "open"
    assert events(engine, finding_id("facebook", "c1", rule))[-1][1] == "reopened"


def test_people_act_with_validation_and_every_action_is_an_event(engine):
    load_items(engine, [item("c1", "abuse"), item("c2", "spam")])
    sync_findings(
        engine,
        [finding("c1", "moderation.abuse"), finding("c2", "third_party_advertising.comment_spam")],
        now=DAY1,
    )
    fid = finding_id("facebook", "c1", "moderation.abuse")
    with pytest.raises(UserError, match="no finding with id 'ffffffff'"):
        transition(engine, "ffffffff", "ack", "alice")
    with pytest.raises(UserError, match="needs a reason"):
        transition(engine, fid, "dismiss", "alice", "  ")
    with pytest.raises(UserError, match="unknown action 'archive'"):
        transition(engine, fid, "archive", "alice")
    with pytest.raises(UserError, match="--by"):
        transition(engine, fid, "ack", "")
    done = transition(engine, fid[:8], "ack", "alice", "looking", now=DAY1 + timedelta(hours=1))
    assert done["status"] == "acknowledged" and done["finding_id"] == fid
    with pytest.raises(UserError, match="already acknowledged"):
        transition(engine, fid, "ack", "bob")
    transition(engine, fid, "resolve", "bob", "comment hidden", now=DAY1 + timedelta(hours=2))
    with pytest.raises(
        UserError, match="is resolved; only a new or open finding can be acknowledged"
    ):
        transition(engine, fid, "ack", "bob")
    with pytest.raises(UserError, match="only a resolved or dismissed finding can be reopened"):
        transition(
            engine,
            finding_id("facebook", "c2", "third_party_advertising.comment_spam"),
            "reopen",
            "bob",
        )
    transition(engine, fid, "reopen", "carol", "it was posted again", now=DAY1 + timedelta(hours=3))
    shown = get_finding(engine, fid)
    assert [
        (e["actor"], e["action"], e["from_status"], e["to_status"], e["reason"])
        for e in shown["events"]
    ] == [
        ("channelwatch", "detected", None, "new", "x"),
        ("alice", "acknowledged", "new", "acknowledged", "looking"),
        ("bob", "resolved", "acknowledged", "resolved", "comment hidden"),
        ("carol", "reopened", "resolved", "open", "it was posted again"),
    ]
    assert shown["item_text"] == "abuse" and shown["item_url"] == "https://facebook.example/c1"


def test_list_filters(engine):
    load_items(
        engine, [item("c1", "a"), item("c2", "b"), item("y1", "c", platform="youtube", account=YT)]
    )
    sync_findings(
        engine,
        [
            finding("c1", "moderation.abuse"),
            finding("c2", "off_brand.political"),
            finding("y1", "foi_request.received", platform="youtube", due=DAY3),
        ],
        now=DAY1,
    )
    sync_findings(engine, [finding("c2", "off_brand.political.pre_election", at=DAY2)], now=DAY2)
    transition(engine, finding_id("facebook", "c1", "moderation.abuse"), "resolve", "a", "ok")

    def ids(**kw):
        return sorted(f"{r['item_id']}:{r['rule']}" for r in list_findings(engine, **kw))

    assert ids() == [
        "c2:off_brand.political",
        "c2:off_brand.political.pre_election",
        "y1:foi_request.received",
    ]
    assert len(ids(statuses=None)) == 4
    assert ids(statuses=["resolved"]) == ["c1:moderation.abuse"]
    assert ids(channels=["youtube"]) == ["y1:foi_request.received"]
    assert ids(channels=[FB], statuses=None) == [
        "c1:moderation.abuse",
        "c2:off_brand.political",
        "c2:off_brand.political.pre_election",
    ]
    assert ids(rules=["off_brand"]) == [
        "c2:off_brand.political",
        "c2:off_brand.political.pre_election",
    ]
    assert ids(rules=["off_brand.political.pre_election"]) == [
        "c2:off_brand.political.pre_election"
    ]
    assert ids(categories=["foi_request"]) == ["y1:foi_request.received"]
    assert ids(since=DAY2) == ["c2:off_brand.political.pre_election"]
    assert ids(until=DAY2) == ["c2:off_brand.political", "y1:foi_request.received"]
    assert ids(overdue_at=DAY3 + timedelta(seconds=1)) == ["y1:foi_request.received"]
    first = list_findings(engine)[0]
    assert first["category"] == "foi_request"  # most urgent category first
    assert first["item_text"] == "c" and first["account_id"] == YT


# --- the workflow from the command line -------------------------------------------------


def cli(url, *args, check=True):
    env = {**os.environ, "WAREHOUSE_URL": url, "USER": "tester"}
    env.pop("CHANNELWATCH_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-m", "channelwatch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_the_findings_commands_change_what_the_next_report_shows(engine, tmp_path):
    from channelwatch.report import build_report

    url = engine.url.render_as_string(hide_password=False)
    settings = make_settings(report={"out_dir": str(tmp_path / "reports")})
    load_items(
        engine,
        [
            item("c1", "I can't cope anymore and I want to end my life"),
            item("c2", "Under the Freedom of Information Act please send me X"),
        ],
    )
    sync_findings(
        engine,
        [
            finding(
                "c1",
                "safeguarding.concern",
                severity="high",
                route="safeguarding_lead",
                evidence='self-harm: "end my life"',
                span=(32, 43),
            ),
            finding(
                "c2",
                "foi_request.received",
                route="information_compliance",
                due=DAY3 + timedelta(days=20),
            ),
        ],
        now=DAY1,
    )
    # Today's report, as of the real now: the CLI stamps its events with the real time.
    today = datetime.now(timezone.utc).astimezone(settings.business_hours.zone).date()

    def report():
        paths = build_report(settings, engine, today, now=datetime.now(timezone.utc))
        return json.loads(paths.json.read_text()), paths.html.read_text()

    before, _ = report()
    assert before["do_first"]["safeguarding"]["total"] == 1
    assert before["do_first"]["foi"]["total"] == 1

    listed = json.loads(
        cli(url, "findings", "list", "--category", "safeguarding", "--format", "json").stdout
    )
    assert [f["rule"] for f in listed] == ["safeguarding.concern"]
    sg = listed[0]["finding_id"]
    foi = finding_id("facebook", "c2", "foi_request.received")

    bad = cli(url, "findings", "dismiss", sg[:10], check=False)
    assert bad.returncode == 2
    assert (
        bad.stderr.strip() == "channelwatch: error: dismissing a finding needs a reason: "
        "give --reason TEXT"
    )
    missing = cli(url, "findings", "ack", "0123456789abcdef", check=False)
    assert missing.returncode == 2 and "no finding with id" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1

    acked = cli(url, "findings", "ack", sg[:10], "--reason", "called the duty team")
    assert "acknowledged" in acked.stdout and "by tester" in acked.stdout
    cli(
        url,
        "findings",
        "dismiss",
        foi[:10],
        "--by",
        "dana",
        "--reason",
        "a journalist's rhetorical question, not a request",
    )
    shown = cli(url, "findings", "show", foi[:10]).stdout
    assert "dana  dismissed (new -> dismissed): a journalist's rhetorical question" in shown
    csv_out = cli(url, "findings", "list", "--status", "all", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("finding_id,status,category")
    assert len(csv_out.splitlines()) == 3

    after, html = report()
    assert after["do_first"]["foi"]["total"] == 0
    assert after["do_first"]["safeguarding"]["total"] == 1  # acknowledged is still active
    assert after["findings_by_category"]["foi_request"]["closed"] == 1
    assert "ACKNOWLEDGED" in html and foi[:10] not in html and sg[:10] in html
    # The day of detection, rendered again, still shows it as it stood then.
    then = json.loads(build_report(settings, engine, date(2026, 11, 16)).json.read_text())
    assert then["do_first"]["foi"]["total"] == 1


def test_findings_in_their_json_form_are_accepted(sqlite_engine):
    """`channelwatch check` writes findings as JSON; the pipeline may sync them as read."""
    load_items(sqlite_engine, [item("c1", "call me on 07700 900456")])
    line = {
        "item_id": "c1",
        "platform": "facebook",
        "category": "moderation",
        "rule": "moderation.personal_data",
        "severity": "medium",
        "evidence": 'UK phone number "07700 900456"',
        "route": "comms",
        "due_at": "2026-11-17T12:00:00+00:00",
        "detected_at": "2026-11-16T18:00:00Z",
        "evidence_span": [11, 23],
    }
    sync_findings(sqlite_engine, [line], now=DAY1)
    with sqlite_engine.connect() as conn:
        row = conn.execute(select(findings)).one()
    assert (row.evidence_start, row.evidence_end) == (11, 23)
    assert row.due_at == datetime(2026, 11, 17, 12, tzinfo=timezone.utc)
    with pytest.raises(ValueError, match="severity 'urgent'"):
        sync_findings(sqlite_engine, [{**line, "severity": "urgent"}], now=DAY1)


def test_the_checks_findings_go_through_the_whole_lifecycle(sqlite_engine, tmp_path):
    """The real checks against the realistic scenario."""
    from channelwatch.report import build_report
    from tests.channelwatch.reportday import build_days

    settings = make_settings(report={"out_dir": str(tmp_path / "reports")})
    build_days(
        sqlite_engine, settings, end_day=date(2026, 11, 20), days=4, per_day=8, real_checks=True
    )
    with sqlite_engine.connect() as conn:
        rows = conn.execute(
            select(
                findings.c.category,
                findings.c.status,
                findings.c.finding_id,
                findings.c.platform,
                findings.c.item_id,
                findings.c.rule,
            )
        ).all()
    assert rows and {r.category for r in rows} <= {
        "safeguarding",
        "foi_request",
        "unanswered",
        "third_party_advertising",
        "off_brand",
        "moderation",
    }
    assert all(r.finding_id == finding_id(r.platform, r.item_id, r.rule) for r in rows)
    assert {r.status for r in rows} >= {"new", "open"}
    build_report(
        settings,
        sqlite_engine,
        date(2026, 11, 20),
        now=datetime(2026, 11, 20, 19, tzinfo=timezone.utc),
    )
