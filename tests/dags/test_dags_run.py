"""The real DAGs under `airflow dags test`, on a sandbox day, into a SQLite warehouse.

One Airflow home (SQLite metadata, `channelwatch airflow-setup`) and one sandbox serve the
tests of this module, which run in order as a day would: a page with a duplicated object
fails Facebook's ingestion (the batch is quarantined, the run fails); the data is fixed and
the day's ingestion re-run loads everything; the report shows the quarantined batch; the
report DAG re-run for the same instant changes nothing.

The report DAG is built without its deadline alert here (CHANNELWATCH_DEADLINE_ALERTS=off):
`airflow dags test` in Airflow 3.3.2 exits non-zero after any DAG with one. The Celery
integration test runs it with the alert under the real scheduler.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select

from channelwatch.warehouse import make_engine
from channelwatch.warehouse.schema import findings, ingestion_runs, items, quarantined_batches
from orchestration.commands.demo import demo_config, demo_connections
from orchestration.local import ROOT, local_env, run_airflow, task_outcomes

pytestmark = pytest.mark.slow

PLATFORMS = ("facebook", "instagram", "youtube", "twitter")


class Day:
    """The sandbox, configuration, warehouse and Airflow home shared by this module."""

    def __init__(self, tmp: Path) -> None:
        from sandbox import server
        from sandbox.generate import generate

        self.tmp = tmp
        generate(tmp / "data", 3, 8, seed=11)
        self.comments = tmp / "data" / "facebook" / "comments.jsonl"
        self.clean = self.comments.read_text()
        # A page that carries one object twice, as a faulty API (or proxy) might.
        first = self.clean.splitlines()[0]
        self.comments.write_text(self.clean + first + "\n")
        self.sandbox = server.start(tmp / "data")
        self.url = f"sqlite:///{tmp / 'warehouse.db'}"
        self.reports = tmp / "reports"
        config = tmp / "channelwatch.yml"
        config.write_text(yaml.safe_dump(demo_config(self.sandbox.url, self.url, self.reports)))
        self.env = local_env(
            tmp / "airflow",
            config=config,
            warehouse_url=self.url,
            extra={**demo_connections(), "CHANNELWATCH_DEADLINE_ALERTS": "off"},
        )
        setup = subprocess.run(
            [sys.executable, "-m", "channelwatch", "airflow-setup", "--warehouse"],
            env=self.env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
        assert "pool channelwatch_facebook: 2 slots" in setup.stdout
        self.engine = make_engine(self.url)
        self.logical: dict[str, str] = {}

    def dags_test(self, dag_id: str, logical: str | None = None, log: str = ""):
        logical = logical or datetime.now(timezone.utc).replace(microsecond=0).isoformat()
        self.logical[dag_id] = logical
        result = run_airflow(
            ["dags", "test", dag_id, logical],
            self.env,
            self.tmp / "logs" / f"{dag_id}{log}.log",
            timeout=600,
        )
        return result, task_outcomes(result.log)

    def count(self, table, *where) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table).where(*where)).scalar_one()

    def summary(self) -> dict:
        day = (
            datetime.fromisoformat(self.logical["channelwatch_checks_report"])
            .astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
            .date()
            .isoformat()
        )
        return json.loads((self.reports / day / "summary.json").read_text())

    def close(self) -> None:
        self.sandbox.stop()
        self.engine.dispose()


@pytest.fixture(scope="module")
def day(tmp_path_factory):
    d = Day(tmp_path_factory.mktemp("dags-test"))
    yield d
    d.close()


def test_a_quarantined_batch_fails_ingestion_without_retries(day):
    result, tasks = day.dags_test("channelwatch_ingestion", log="-1")
    assert result.returncode != 0, result.tail()
    assert tasks["ingest_facebook[0]"] == "failed"
    assert all(tasks[f"ingest_{p}[0]"] == "success" for p in PLATFORMS[1:]), tasks
    with day.engine.connect() as conn:
        batch = conn.execute(select(quarantined_batches)).one()
        run = conn.execute(
            select(ingestion_runs).where(ingestion_runs.c.platform == "facebook")
        ).one()
    assert batch.platform == "facebook" and run.status == "quarantined"
    assert batch.failed_expectations[0]["expectation"] == "expect_compound_columns_to_be_unique"
    # No retries for a quarantined batch: Airflow was told it cannot be fixed by retrying.
    assert "AirflowFailException" in result.log.read_text()
    assert day.count(items, items.c.platform == "facebook") == 0
    for platform in PLATFORMS[1:]:
        assert day.count(items, items.c.platform == platform) > 0


def test_the_day_rerun_after_the_fix_loads_everything_and_the_report_shows_the_quarantine(day):
    day.comments.write_text(day.clean)  # the sandbox re-reads a changed file
    result, tasks = day.dags_test(
        "channelwatch_ingestion", day.logical["channelwatch_ingestion"], log="-2"
    )
    assert result.returncode == 0, result.tail()
    assert tasks and set(tasks.values()) == {"success"}, tasks
    for platform in PLATFORMS:
        assert day.count(items, items.c.platform == platform) > 0
        assert day.count(
            ingestion_runs,
            ingestion_runs.c.platform == platform,
            ingestion_runs.c.status == "success",
            ingestion_runs.c.data_interval_end.is_not(None),
        ) == (1 if platform == "facebook" else 2)
    # Each platform's asset event carries the run's row counts.
    db = sqlite3.connect(day.tmp / "airflow" / "airflow.db")
    events = db.execute(
        "select a.name, e.extra from asset_event e join asset a on a.id = e.asset_id order by e.id"
    ).fetchall()
    db.close()
    extras = {name: json.loads(extra) for name, extra in events}
    assert set(extras) == {f"channelwatch_items_{p}" for p in PLATFORMS}
    assert extras["channelwatch_items_facebook"]["items_new"] == day.count(
        items, items.c.platform == "facebook"
    )

    result, tasks = day.dags_test("channelwatch_checks_report")
    assert result.returncode == 0, result.tail()
    assert set(tasks) == {"refresh", "validate", "check", "alert", "report", "quality_gate"}
    assert set(tasks.values()) == {"success"}, tasks
    assert day.count(findings) > 0
    summary = day.summary()
    html = (day.reports / summary["report_date"] / summary["files"]["html"]).read_text()
    assert "<html" in html.lower()
    health = summary["pipeline"]
    assert health["not_ingested"] == []
    assert health["quarantined_today"] == 1 and health["failed_runs"] >= 1


def _snapshot(day):
    with day.engine.connect() as conn:
        return (
            conn.execute(
                select(
                    items.c.platform, items.c.item_id, items.c.content_hash, items.c.version
                ).order_by(items.c.platform, items.c.item_id)
            ).all(),
            conn.execute(
                select(
                    findings.c.finding_id,
                    findings.c.status,
                    findings.c.evidence,
                    findings.c.due_at,
                    findings.c.updated_at,
                ).order_by(findings.c.finding_id)
            ).all(),
        )


def test_rerunning_the_report_for_the_same_instant_changes_nothing(day):
    before = _snapshot(day)
    csv = (day.reports / day.summary()["report_date"] / "findings.csv").read_text()
    result, tasks = day.dags_test(
        "channelwatch_checks_report", day.logical["channelwatch_checks_report"], log="-2"
    )
    assert result.returncode == 0, result.tail()
    assert _snapshot(day) == before
    assert (day.reports / day.summary()["report_date"] / "findings.csv").read_text() == csv
