"""The distributed path, for real: Airflow's api-server, scheduler, dag-processor and a Celery
worker as processes, against a throwaway PostgreSQL metadata database and the local Redis —
the executor docker-compose.yml runs. Runs are triggered through the api-server's REST API.

The DAGs are unpaused at creation, so the scheduler starts the latest scheduled run of each
at once (catchup is off): the scheduled ingestion emits the platform assets, which trigger
the checks-and-report DAG. The test also triggers, through the REST API, a report run dated
three hours ago, whose deadline alert (due an hour after its logical date) is already
missed: the scheduler queues the deadline callback, the Celery worker runs it, and a
``pipeline.report_late`` finding lands in the warehouse.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from orchestration.commands.demo import demo_config, demo_connections
from orchestration.local import DAGS_FOLDER, ROOT, airflow_executable
from tests.conftest import PG_ADMIN_URL, missing

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

REDIS_URL = os.environ.get("CHANNELWATCH_TEST_REDIS", "redis://127.0.0.1:6379/0")
PLATFORMS = ("facebook", "instagram", "youtube", "twitter")
TIMEOUT = 300  # seconds for the runs to finish once the processes are up (about 50 s idle)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stack:
    """Throwaway databases, the sandbox, and the Airflow processes."""

    SERVICES = {
        "api-server": lambda s: ["api-server", "--port", str(s.port)],
        "scheduler": lambda s: ["scheduler"],
        "dag-processor": lambda s: ["dag-processor"],
        "celery-worker": lambda s: ["celery", "worker", "--queues", s.queue, "--concurrency", "4"],
    }

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.procs: dict[str, subprocess.Popen] = {}
        self.admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        tag = uuid.uuid4().hex[:10]
        self.dbs = [f"cw_af_{tag}", f"cw_wh_{tag}"]
        with self.admin.connect() as conn:
            for name in self.dbs:
                conn.execute(text(f'create database "{name}"'))
        base = PG_ADMIN_URL.rsplit("/", 1)[0]
        self.meta_url, self.warehouse_url = (f"{base}/{name}" for name in self.dbs)
        self.queue = f"channelwatch-test-{tag}"
        self.port = _free_port()

        from sandbox import server
        from sandbox.generate import generate

        generate(tmp / "data", 3, 8, seed=5)
        self.sandbox = server.start(tmp / "data")
        self.reports = tmp / "reports"
        config = tmp / "channelwatch.yml"
        config.write_text(
            yaml.safe_dump(demo_config(self.sandbox.url, self.warehouse_url, self.reports))
        )
        self.env = {
            **os.environ,
            **demo_connections(),
            "AIRFLOW_HOME": str(tmp / "airflow"),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"http://127.0.0.1:{self.port}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.meta_url,
            # Airflow derives an asyncpg URL otherwise; psycopg 3 does async too.
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": self.meta_url,
            "AIRFLOW__CELERY__BROKER_URL": REDIS_URL,
            "AIRFLOW__CELERY__RESULT_BACKEND": "db+" + self.meta_url,
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__API_AUTH__JWT_SECRET": uuid.uuid4().hex,
            # The REST API without logins (a throwaway stack on loopback).
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "CHANNELWATCH_CONFIG": str(config),
            "WAREHOUSE_URL": self.warehouse_url,
            "GX_ANALYTICS_ENABLED": "false",
        }
        self.env.pop("CHANNELWATCH_DEADLINE_ALERTS", None)  # the alert is on, as deployed
        self.meta = create_engine(self.meta_url)
        self.warehouse = create_engine(self.warehouse_url)

    def setup(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "channelwatch", "airflow-setup", "--warehouse"],
            env=self.env,
            cwd=str(ROOT),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]

    def start(self) -> None:
        for name, args in self.SERVICES.items():
            log = (self.tmp / f"{name}.log").open("w")
            self.procs[name] = subprocess.Popen(
                [airflow_executable(), *args(self)],
                env=self.env,
                cwd=str(ROOT),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """Airflow's REST API on the api-server."""
        import urllib.request

        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}/api/v2{path}",
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read() or b"{}")

    def api_ready(self) -> bool:
        try:
            return bool(self.api("GET", "/version").get("version"))
        except OSError:
            return False

    def trigger(self, dag_id: str, run_id: str, logical_date: datetime | None) -> dict:
        return self.api(
            "POST",
            f"/dags/{dag_id}/dagRuns",
            {
                "dag_run_id": run_id,
                "logical_date": logical_date.isoformat() if logical_date else None,
            },
        )

    def meta_rows(self, sql: str, **params):
        with self.meta.connect() as conn:
            return conn.execute(text(sql), params).all()

    def warehouse_rows(self, sql: str, **params):
        with self.warehouse.connect() as conn:
            return conn.execute(text(sql), params).all()

    def logs(self) -> str:
        out = []
        for name in self.SERVICES:
            path = self.tmp / f"{name}.log"
            if path.exists():
                lines = path.read_text(errors="replace").splitlines()
                out.append(f"--- {name} ---\n" + "\n".join(lines[-25:]))
        return "\n".join(out)

    def check_alive(self) -> None:
        dead = {n: p.returncode for n, p in self.procs.items() if p.poll() is not None}
        assert not dead, f"Airflow processes died: {dead}\n{self.logs()}"

    def wait(self, what: str, condition, timeout: float = TIMEOUT):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            value = condition()
            if value:
                return value
            time.sleep(1)
        raise AssertionError(f"timed out waiting for {what}\n{self.logs()}")

    def stop(self) -> dict[str, int]:
        """SIGTERM each process group, wait for a clean exit; returns the exit codes."""
        codes = {}
        for proc in self.procs.values():
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=45)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                codes[name] = proc.wait()
                codes[name] = f"killed after 45 s ({codes[name]})"
        self.procs.clear()
        return codes

    def close(self) -> None:
        if self.procs:
            self.stop()
        self.sandbox.stop()
        self.meta.dispose()
        self.warehouse.dispose()
        with self.admin.connect() as conn:
            for name in self.dbs:
                conn.execute(text(f'drop database if exists "{name}" with (force)'))
        self.admin.dispose()


@pytest.fixture
def stack(tmp_path):
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001
        missing(f"Redis at {REDIS_URL} is not reachable: {exc}")
    try:
        create_engine(PG_ADMIN_URL).connect().close()
    except Exception as exc:  # noqa: BLE001
        missing(f"PostgreSQL at {PG_ADMIN_URL} is not reachable: {exc}")
    s = Stack(tmp_path)
    yield s
    s.close()


def _run_states(stack, dag_id):
    return {
        run_id: (state, run_type)
        for run_id, state, run_type in stack.meta_rows(
            "select run_id, state, run_type from dag_run where dag_id = :d", d=dag_id
        )
    }


def test_the_dags_run_on_celery_workers_with_assets_and_a_deadline(stack):
    stack.setup()
    pools = dict(stack.meta_rows("select pool, slots from slot_pool where pool like 'channel%'"))
    assert pools == {
        "channelwatch_facebook": 2,
        "channelwatch_instagram": 2,
        "channelwatch_youtube": 1,
        "channelwatch_twitter": 1,
    }
    stack.start()
    stack.wait(
        "the dag-processor to parse the DAGs",
        lambda: (
            len(
                stack.meta_rows(
                    "select dag_id from dag where dag_id like 'channelwatch_%' and not is_paused"
                )
            )
            == 3
        ),
    )

    stack.wait("the api-server", stack.api_ready)
    late = (datetime.now(timezone.utc) - timedelta(hours=3)).replace(microsecond=0)
    assert stack.trigger("channelwatch_checks_report", "late-report", late)["state"] == "queued"

    def done():
        ingest = [
            (run_id, state)
            for run_id, (state, kind) in _run_states(stack, "channelwatch_ingestion").items()
            if kind == "scheduled"
        ]
        report = _run_states(stack, "channelwatch_checks_report")
        active = stack.meta_rows("select run_id from dag_run where state in ('queued', 'running')")
        return (
            ingest
            and "late-report" in report
            and not active
            and any(kind == "asset_triggered" for _, kind in report.values())
            and (ingest[0], report)
        )

    # Unpaused at creation, each DAG's latest scheduled run starts at once: the scheduled
    # ingestion emits the assets, which trigger the report DAG.
    (ingest_run, ingest_state), report = stack.wait(
        "the scheduled ingestion, the asset-triggered and the late report runs", done
    )
    failed = stack.meta_rows(
        "select dag_id, task_id, map_index, state from task_instance where state != 'success'"
    )
    assert ingest_state == "success", (failed, stack.logs())
    assert report["late-report"][0] == "success", (failed, stack.logs())
    assert {state for state, kind in report.values() if kind == "asset_triggered"} == {"success"}

    # Every ingestion task ran on the Celery worker, through its platform's pool.
    tis = stack.meta_rows(
        "select task_id, pool, queue, hostname, state from task_instance "
        "where run_id = :r and task_id like 'ingest_%'",
        r=ingest_run,
    )
    assert sorted(t[0] for t in tis) == sorted(f"ingest_{p}" for p in PLATFORMS)
    assert all(
        pool == f"channelwatch_{task[len('ingest_') :]}"
        and queue == stack.queue
        and state == "success"
        and host
        for task, pool, queue, host, state in tis
    ), tis

    # The warehouse holds every platform's items, the findings, and the day's report.
    counts = dict(stack.warehouse_rows("select platform, count(*) from items group by platform"))
    assert set(counts) == set(PLATFORMS) and min(counts.values()) > 0
    assert (
        stack.warehouse_rows("select count(*) from findings where category != 'pipeline'")[0][0] > 0
    )
    today = (
        datetime.now(timezone.utc)
        .astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
        .date()
        .isoformat()
    )
    assert (stack.reports / today / "report.html").exists()
    summary = json.loads((stack.reports / today / "summary.json").read_text())
    assert summary["pipeline"]["not_ingested"] == []

    # The late run's deadline was missed, and its callback ran on the worker.
    missed = stack.meta_rows(
        "select d.missed from deadline d join dag_run r on r.id = d.dagrun_id "
        "where r.run_id = 'late-report'"
    )
    assert missed == [(True,)]
    late_day = late.date().isoformat()
    stack.wait(
        "the deadline callback's finding",
        lambda: stack.warehouse_rows(
            "select evidence from findings where rule = 'pipeline.report_late' and item_id = :i",
            i=f"report:{late_day}",
        ),
        timeout=60,
    )

    codes = stack.stop()
    assert all(isinstance(code, int) for code in codes.values()), codes  # none had to be killed
