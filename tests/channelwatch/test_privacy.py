"""Personal data: pseudonymised authors in the views, and erasure across every table."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timezone

from sqlalchemy import func, select, text

from channelwatch.privacy import erase_author, make_pseudonymiser
from channelwatch.warehouse import load
from channelwatch.warehouse import schema as s
from connectors.base import Batch, RawPage
from kernel.items import Item
from tests.conftest import ROOT, make_settings

T0 = datetime(2026, 11, 16, 10, 0, tzinfo=timezone.utc)
SETTINGS = make_settings()
FB = SETTINGS.accounts.facebook[0].id
REF = make_pseudonymiser("test-key")


def comment(item_id, author, name, text):
    return Item(
        "facebook", item_id, "comment", FB, author, name, False, "p1", "p1", T0, text, None, {}
    )


def load_sample(engine):
    post = Item("facebook", "p1", "post", FB, FB, "Council", True, None, "p1", T0, "News", None, {})
    items = [
        post,
        comment("c1", "u-alice", "Alice Example", "My number is 07700 900456"),
        comment("c2", "u-bob", "Bob Other", "Nice one"),
    ]
    body = json.dumps(
        {
            "data": [
                {
                    "id": "c1",
                    "from": {"id": "u-alice", "name": "Alice Example"},
                    "message": "My number is 07700 900456",
                },
                {"id": "c2", "from": {"id": "u-bob", "name": "Bob Other"}, "message": "Nice one"},
            ]
        }
    )
    with engine.begin() as conn:
        load.sync_accounts(conn, SETTINGS, T0)
        load.load_batch(
            conn,
            "run-1",
            "facebook",
            FB,
            Batch(items, [RawPage("facebook.comments", "GET /p1/comments", body, T0)]),
            T0,
            REF,
        )
        conn.execute(
            s.findings.insert().values(
                finding_id="f1",
                platform="facebook",
                item_id="c1",
                category="moderation",
                rule="moderation.personal_data",
                severity="medium",
                route="comms",
                evidence="07700 900456",
                detected_at=T0,
                status="new",
                status_changed_at=T0,
                updated_at=T0,
            )
        )
        conn.execute(
            s.finding_events.insert().values(
                finding_id="f1",
                at=T0,
                actor="channelwatch",
                action="detected",
                to_status="new",
                reason="",
            )
        )


def test_views_show_a_keyed_hash_not_the_author_id(engine):
    load_sample(engine)
    with engine.connect() as conn:
        rows = conn.execute(
            text("select item_id, author_ref from public_items order by item_id")
        ).all()
        columns = conn.execute(text("select * from public_items")).keys()
    assert "author_id" not in columns
    assert dict(rows) == {"c1": REF("facebook", "u-alice"), "c2": REF("facebook", "u-bob")}
    assert REF("facebook", "u-alice") != make_pseudonymiser("another-key")("facebook", "u-alice")


def test_erasure_removes_one_person_everywhere_and_is_recorded(engine):
    load_sample(engine)
    counts = erase_author(engine, None, "u-alice", actor="dpo", reason="SAR-42", author_ref=REF)
    assert counts["items"] == 1 and counts["findings"] == 1 and counts["raw_payloads"] == 1
    with engine.connect() as conn:
        remaining = [
            r[0] for r in conn.execute(select(s.items.c.item_id).order_by(s.items.c.item_id))
        ]
        body = conn.execute(select(s.raw_payloads.c.body)).scalar_one()
        erasure = conn.execute(select(s.erasures)).one()
        assert conn.execute(select(func.count()).select_from(s.finding_events)).scalar() == 0
        assert (
            conn.execute(
                select(func.count())
                .select_from(s.item_versions)
                .where(s.item_versions.c.item_id == "c1")
            ).scalar()
            == 0
        )
    assert remaining == ["c2", "p1"]
    assert "u-alice" not in body and "Alice" not in body and "07700" not in body
    assert "Bob Other" in body  # other people's data is kept
    assert erasure.actor == "dpo" and erasure.reason == "SAR-42"
    assert erasure.author_ref == REF("*", "u-alice") and "u-alice" not in json.dumps(
        erasure.rows_removed
    )


def test_erase_command_needs_a_reason_and_a_migrated_warehouse(tmp_path, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_URL", f"sqlite:///{tmp_path}/w.db")
    monkeypatch.setenv("AIRFLOW_CONN_CW_PSEUDONYM", '{"password": "k"}')
    proc = subprocess.run(
        [sys.executable, "-m", "channelwatch", "erase", "--author", "u1", "--reason", "SAR-1"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert proc.returncode == 2 and "not migrated" in proc.stderr
    assert "Traceback" not in proc.stderr
