"""Secrets: recognisable fake tokens go in, and come out nowhere.

The whole day runs (channelwatch.pipeline.run_day: all four platforms ingested through the
quality gate, derived tables, checks, findings, report) with a distinct fake token per
Airflow connection and a fake pseudonymisation key; then a day whose runs fail — a lasting
5xx, an expired token, a malformed body, and a platform host that refuses connections,
whose errors quote request URLs. Then every place a secret could leak is searched:

- every log record of every logger at DEBUG (caplog), and everything written to the
  process's stdout and stderr (capfd: Airflow's structlog writes there), except the
  sandbox's own request log — it stands in for the platform, which does see the token;
- every column of every row of every warehouse table and view, as text (raw API pages
  included: Graph's paging links carry access_token);
- the report files (HTML, CSV, JSON);
- the failed runs' error messages, as returned and as stored.

And each token is registered with Airflow's secret masker when the credentials are read.
"""

from __future__ import annotations

import logging
import socket

import airflow.sdk.log  # noqa: F401 - Airflow sets up logging on import: before caplog's handler
import pytest
from sqlalchemy import MetaData, select

from channelwatch import pipeline
from channelwatch.warehouse.schema import ingestion_runs
from tests.conftest import make_settings
from tests.reliability import world
from tests.reliability.world import T1

DAY = T1.date()
LOGGERS = (
    "urllib3",
    "requests",
    "tweepy",
    "googleapiclient",
    "googleapiclient.discovery",
    "facebook",
    "connectors",
    "channelwatch",
)


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    from sandbox import server

    data = world.build_dataset(tmp_path_factory.mktemp("secrets") / "data")
    running = server.start(data)
    running.sandbox.store.clock = T1
    yield running
    running.stop()


def everything_stored(engine) -> str:
    meta = MetaData()
    meta.reflect(engine, views=True)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                parts.append("\t".join(str(value) for value in row))
    return "\n".join(parts)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_no_token_is_logged_stored_reported_or_quoted_in_an_error(
    sandbox, engine, fake_tokens, tmp_path, caplog, capfd
):
    secrets = {**fake_tokens, "pseudonym": "FAKE-PSEUDONYM-KEY"}
    reports = tmp_path / "reports"
    settings = make_settings(
        sandbox.url, api={**world.API, "page_size": 5}, report={"out_dir": str(reports)}
    )
    caplog.set_level(logging.DEBUG)
    for name in LOGGERS:  # the libraries that see URLs and headers, at their most verbose
        caplog.set_level(logging.DEBUG, logger=name)

    good = pipeline.run_day(settings, engine, DAY, now=T1)
    assert not good["failed"], good["failed"]
    assert good["check"]["findings"] > 0

    sandbox.set_faults(
        [
            {"endpoint": "facebook.*", "fault": "500", "times": -1},
            {"endpoint": "instagram.*", "fault": "malformed_json", "times": -1},
            {"endpoint": "youtube.*", "fault": "expired_token", "times": -1},
            {"endpoint": "twitter.*", "fault": "truncated", "times": -1},
        ]
    )
    try:
        bad = pipeline.run_day(settings, engine, DAY, now=T1)
    finally:
        sandbox.set_faults([])
    refused = pipeline.run_day(
        make_settings(
            f"http://127.0.0.1:{free_port()}", api=world.API, report={"out_dir": str(reports)}
        ),
        engine,
        DAY,
        now=T1,
    )
    assert len(bad["failed"]) == 4 and len(refused["failed"]) == 4
    assert "'cw_youtube'" in " ".join(bad["failed"])

    with engine.connect() as conn:
        stored_errors = [e for (e,) in conn.execute(select(ingestion_runs.c.error)) if e]
    assert len(stored_errors) == 8
    places = {
        "error messages": "\n".join(bad["failed"] + refused["failed"] + stored_errors),
        "warehouse": everything_stored(engine),
        "reports": "\n".join(
            p.read_text(encoding="utf-8") for p in reports.rglob("*") if p.is_file()
        ),
        "log records": "\n".join(
            f"{r.getMessage()} {r.exc_text or ''}"
            for r in caplog.records
            if not r.name.startswith("sandbox")
        ),
    }
    out, err = capfd.readouterr()
    places["stdout and stderr"] = "\n".join(
        line for line in (out + err).splitlines() if "sandbox" not in line
    )
    # The searches are not vacuous: the paging links and request lines were there, redacted.
    assert "access_token=REDACTED" in places["warehouse"]
    assert any(r.name.startswith("urllib3") for r in caplog.records)
    leaks = {
        (name, where)
        for name, secret in secrets.items()
        for where, text in places.items()
        if secret in text
    }
    assert leaks == set()


def test_credentials_read_are_registered_with_airflows_secret_masker(fake_tokens, monkeypatch):
    pytest.importorskip("airflow.sdk.log")
    from airflow.sdk.log import _secrets_masker

    from channelwatch import mail, secrets
    from channelwatch.privacy import pseudonymiser
    from channelwatch.secrets import get_credentials
    from orchestration.credentials import install

    monkeypatch.setattr(secrets, "_LOOKUPS", [])
    monkeypatch.setattr(secrets, "_MASKERS", [])
    monkeypatch.setattr(mail, "_SENDERS", [])
    install()  # as every task body and the CLI do where Airflow is installed
    monkeypatch.setenv(
        "AIRFLOW_CONN_CW_APP",
        '{"password": "FAKE-APP-TOKEN-123", "extra": {"app_secret": "FAKE-APP-SECRET-456"}}',
    )
    for platform in world.PLATFORMS:
        get_credentials(f"cw_{platform}", platform)
    get_credentials("cw_app", "facebook")
    pseudonymiser(make_settings())

    masker = _secrets_masker()
    for secret in (
        *fake_tokens.values(),
        "FAKE-PSEUDONYM-KEY",
        "FAKE-APP-TOKEN-123",
        "FAKE-APP-SECRET-456",
    ):
        assert masker.redact(f"Bearer {secret}!") == "Bearer ***!", secret
