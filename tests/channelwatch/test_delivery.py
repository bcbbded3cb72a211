"""Email through Airflow's SMTP hook to a real local SMTP server (aiosmtpd): the daily report
with its CSV, and safeguarding alerts sent once each."""

from __future__ import annotations

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from channelwatch.delivery import send_report, send_safeguarding_alerts
from channelwatch.findings import finding_id, sync_findings, transition
from channelwatch.report import build_report
from channelwatch.warehouse import load
from channelwatch.warehouse.schema import finding_events, findings, reports
from kernel.errors import UserError
from kernel.items import Item
from tests.channelwatch.reportday import Finding, build_days
from tests.conftest import ROOT, make_settings

DAY = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 19, 0, tzinfo=timezone.utc)
CONN_ID = "cw_test_smtp"


class Inbox:
    """What the SMTP server received: (envelope sender, recipients, parsed message)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.EmailMessage]] = []
        self.refuse = False

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        if self.refuse:
            return "554 5.7.1 Message rejected by policy"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def smtp(monkeypatch):
    """A real SMTP server on 127.0.0.1 and the Airflow connection that points at it."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        pytest.fail("aiosmtpd is a pinned test dependency; pip install -r requirements.lock")
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    conn = {
        "conn_type": "smtp",
        "host": "127.0.0.1",
        "port": port,
        "extra": {"disable_tls": True, "disable_ssl": True, "retry_limit": 0, "timeout": 10},
    }
    monkeypatch.setenv("AIRFLOW_CONN_" + CONN_ID.upper(), json.dumps(conn))
    inbox.env = {"AIRFLOW_CONN_" + CONN_ID.upper(): json.dumps(conn)}
    yield inbox
    controller.stop()


def settings_for(tmp_path, **report):
    return make_settings(
        report={
            "out_dir": str(tmp_path / "reports"),
            "smtp_conn_id": CONN_ID,
            "sender": "channelwatch@bracknell-forest.gov.uk",
            "recipients": [
                "comms@bracknell-forest.gov.uk",
                "head.of.comms@bracknell-forest.gov.uk",
            ],
            "safeguarding_recipients": ["safeguarding.lead@bracknell-forest.gov.uk"],
            **report,
        }
    )


def parts(message):
    body = message.get_body(("html",)).get_content()
    attachments = {p.get_filename(): p.get_payload(decode=True) for p in message.iter_attachments()}
    return body, attachments


@pytest.fixture(params=["smtplib", "airflow"])
def mailer(request, monkeypatch):
    """The core's own SMTP sender, or the Airflow adapter's (SmtpHook) as task bodies and
    the command line register it: both must deliver the same message."""
    from channelwatch import mail, secrets

    monkeypatch.setattr(secrets, "_LOOKUPS", [])
    monkeypatch.setattr(secrets, "_MASKERS", [])
    monkeypatch.setattr(mail, "_SENDERS", [])
    if request.param == "airflow":
        from orchestration.credentials import install

        install()
    return request.param


def test_the_report_arrives_with_its_csv(engine, smtp, mailer, tmp_path):
    settings = settings_for(tmp_path)
    build_days(engine, settings, end_day=DAY, days=4, per_day=8)
    paths = build_report(settings, engine, DAY, now=NOW)
    summary = json.loads(paths.json.read_text())

    sent = send_report(settings, engine, DAY, paths=paths, now=NOW + timedelta(minutes=1))
    assert sent == settings.report.recipients
    assert len(smtp.messages) == 1
    sender, rcpt, message = smtp.messages[0]
    assert sender == "channelwatch@bracknell-forest.gov.uk" and rcpt == sent
    assert message["To"] == ", ".join(sent)
    subject = message["Subject"]
    assert subject.startswith("Bracknell Forest Council social media report, Fri 20 Nov 2026: ")
    assert f"{summary['do_first']['safeguarding']['total']} safeguarding" in subject
    body, attachments = parts(message)
    assert body == paths.html.read_text()
    assert list(attachments) == ["findings.csv"]
    assert attachments["findings.csv"] == paths.csv.read_bytes()
    assert attachments["findings.csv"].startswith(b"finding_id,status,new_today,")
    with engine.connect() as conn:
        row = conn.execute(select(reports)).one()
    assert row.delivered_at == NOW + timedelta(minutes=1) and row.delivered_to == ", ".join(sent)

    # A retried pipeline task does not send it twice; the command line can (force).
    assert send_report(settings, engine, DAY, force=False) == []
    assert len(smtp.messages) == 1
    send_report(settings, engine, DAY)
    assert len(smtp.messages) == 2


def test_safeguarding_concerns_are_alerted_at_once_and_only_once(sqlite_engine, smtp, tmp_path):
    settings = settings_for(tmp_path)
    fb = settings.accounts.facebook[0].id
    text = "<script>x()</script> my stepdad hits me every night and I'm scared to go home"
    at = NOW - timedelta(hours=1)
    items = [
        Item(
            "facebook",
            f"c{i}",
            "comment",
            fb,
            f"u{i}",
            f"Person {i}",
            False,
            "p1",
            "p1",
            at,
            text,
            f"https://facebook.example/c{i}",
            {},
        )
        for i in range(3)
    ]
    with sqlite_engine.begin() as conn:
        load.sync_accounts(conn, settings, NOW)
        load.load_items(conn, "r", items, NOW)
    start = text.index("hits me")

    def concern(item_id):
        return Finding(
            item_id,
            "facebook",
            "safeguarding",
            "safeguarding.concern",
            "high",
            'risk to a child: "hits me"',
            "safeguarding_lead",
            at,
            at,
            (start, start + len("hits me")),
        )

    sync_findings(
        sqlite_engine,
        [
            concern("c0"),
            concern("c1"),
            Finding(
                "c2", "facebook", "moderation", "moderation.abuse", "high", "x", "comms", at, at
            ),
        ],
        now=NOW,
    )
    sent = send_safeguarding_alerts(settings, sqlite_engine, now=NOW)
    assert sorted(sent) == sorted(
        finding_id("facebook", i, "safeguarding.concern") for i in ("c0", "c1")
    )
    assert len(smtp.messages) == 2
    for _sender, rcpt, message in smtp.messages:
        assert rcpt == ["safeguarding.lead@bracknell-forest.gov.uk"]
        assert message["Subject"].startswith(
            "SAFEGUARDING concern on Facebook · Bracknell Forest Council: act now ("
        )
        assert "hits me" not in message["Subject"]  # no public text in a subject line
        body, attachments = parts(message)
        assert attachments == {}
        assert '<mark style="background:#fde68a;color:#111827;">hits me</mark>' in body
        assert "&lt;script&gt;x()&lt;/script&gt;" in body and "<script" not in body
        assert 'href="https://facebook.example/c' in body
    with sqlite_engine.connect() as conn:
        alerted = conn.execute(
            select(finding_events).where(finding_events.c.action == "alerted")
        ).all()
    assert len(alerted) == 2
    assert {(e.actor, e.from_status, e.to_status, e.reason) for e in alerted} == {
        ("channelwatch", "new", "new", "emailed to safeguarding.lead@bracknell-forest.gov.uk")
    }

    assert send_safeguarding_alerts(settings, sqlite_engine, now=NOW) == []  # never twice
    assert len(smtp.messages) == 2
    # A new concern: only it is alerted. A closed one is not alerted at all.
    with sqlite_engine.begin() as conn:
        load.load_items(
            conn,
            "r2",
            [
                Item(
                    "facebook",
                    "c9",
                    "comment",
                    fb,
                    "u9",
                    "P",
                    False,
                    "p1",
                    "p1",
                    at,
                    text,
                    None,
                    {},
                ),
                Item(
                    "facebook",
                    "c8",
                    "comment",
                    fb,
                    "u8",
                    "P",
                    False,
                    "p1",
                    "p1",
                    at,
                    text,
                    None,
                    {},
                ),
            ],
            NOW,
        )
    sync_findings(sqlite_engine, [concern("c9"), concern("c8")], now=NOW + timedelta(minutes=5))
    transition(
        sqlite_engine,
        finding_id("facebook", "c8", "safeguarding.concern"),
        "dismiss",
        "lead",
        "a song lyric",
    )
    assert send_safeguarding_alerts(settings, sqlite_engine, now=NOW + timedelta(minutes=6)) == [
        finding_id("facebook", "c9", "safeguarding.concern")
    ]
    assert len(smtp.messages) == 3
    assert "No link is available" in parts(smtp.messages[2][2])[0]
    with sqlite_engine.connect() as conn:  # alerting changes no status
        assert {
            r.status
            for r in conn.execute(select(findings).where(findings.c.category == "safeguarding"))
        } == {"new", "dismissed"}


def test_delivery_problems_are_one_line_errors(sqlite_engine, smtp, mailer, tmp_path, monkeypatch):
    settings = settings_for(tmp_path)
    with pytest.raises(UserError, match="no report has been rendered for 2026-11-20"):
        send_report(settings, sqlite_engine, DAY)
    build_report(settings, sqlite_engine, DAY, now=NOW)
    with pytest.raises(UserError, match="report.recipients is empty"):
        send_report(settings_for(tmp_path, recipients=[]), sqlite_engine, DAY)
    smtp.refuse = True
    with pytest.raises(UserError, match="email through 'cw_test_smtp' failed: .*554"):
        send_report(settings, sqlite_engine, DAY)
    with pytest.raises(UserError) as exc:
        send_report(settings_for(tmp_path, smtp_conn_id="cw_nowhere"), sqlite_engine, DAY)
    assert str(exc.value) == (
        "the SMTP connection 'cw_nowhere' is not defined: set "
        "AIRFLOW_CONN_CW_NOWHERE or add it to Airflow"
    )
    with sqlite_engine.connect() as conn:
        assert conn.execute(select(reports.c.delivered_at)).scalar() is None
    # Concerns with nobody to tell: an error, not silence.
    fb = settings.accounts.facebook[0].id
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
                    "u",
                    "P",
                    False,
                    "p1",
                    "p1",
                    NOW,
                    "help",
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
                "safeguarding",
                "safeguarding.concern",
                "high",
                "x",
                "safeguarding_lead",
                NOW,
                NOW,
            )
        ],
        now=NOW,
    )
    with pytest.raises(UserError, match="1 safeguarding concern"):
        send_safeguarding_alerts(
            settings_for(tmp_path, recipients=[], safeguarding_recipients=[]), sqlite_engine
        )


@pytest.mark.slow
def test_report_send_from_the_command_line(sqlite_engine, smtp, tmp_path):
    build_days(sqlite_engine, settings_for(tmp_path), end_day=DAY, days=2, per_day=5)
    config = tmp_path / "cw.yml"
    config.write_text(
        f"report:\n  out_dir: {tmp_path / 'out'}\n  smtp_conn_id: {CONN_ID}\n"
        "  recipients: [comms@bracknell-forest.gov.uk]\n"
    )
    env = {**os.environ, **smtp.env, "WAREHOUSE_URL": sqlite_engine.url.render_as_string(False)}
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "channelwatch",
            "report",
            "--date",
            DAY.isoformat(),
            "--config",
            str(config),
            "--send",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(tmp_path / "out" / "2026-11-20" / "report.html")
    assert "sent to comms@bracknell-forest.gov.uk" in run.stderr
    assert len(smtp.messages) == 1 and smtp.messages[0][1] == ["comms@bracknell-forest.gov.uk"]
    assert list(parts(smtp.messages[0][2])[1]) == ["findings.csv"]
