"""`channelwatch demo`: the main job end to end, on the local API sandbox and SQLite.

1. Generate several days of synthetic activity for all four platforms (var/demo/sandbox).
2. Serve it over HTTP from the local API sandbox (a thread of this process).
3. Write the demo's own configuration (var/demo/channelwatch.yml) and migrate its
   warehouse (var/demo/warehouse.db).
4. Prepare Airflow under var/airflow (SQLite metadata, `airflow db migrate`, the pools).
5. Run the real DAGs with `airflow dags test`: ingestion, housekeeping, checks and report,
   first as of yesterday evening (the sandbox's clock set back), then as of now.
6. Print the report's path (the last line).

Credentials are fake demo tokens in AIRFLOW_CONN_* (the sandbox accepts any). The checks
and report DAG is built without its deadline alert (CHANNELWATCH_DEADLINE_ALERTS=off):
`airflow dags test` in Airflow 3.3.2 exits non-zero after any DAG that has one, although
its tasks succeed; the scheduler-run deployment keeps the alert (docs/deploy.md).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from channelwatch.commands.common import progress
from kernel.errors import UserError

DEMO_DAYS = 7
DEMO_PER_DAY = 40
DEMO_SEED = 7


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "demo",
        help="run the whole pipeline through Airflow on the local API sandbox",
        description="Generate several days of activity for all four platforms, serve it "
        "from the local API sandbox, and run the real DAGs with `airflow dags "
        "test` (ingestion, housekeeping, checks and report) into a SQLite "
        "warehouse under var/demo/. Prints the path of the day's report last.",
    )
    parser.add_argument(
        "--days",
        type=int,
        default=DEMO_DAYS,
        help=f"days of activity to generate (default {DEMO_DAYS})",
    )
    parser.add_argument(
        "--per-day",
        type=int,
        default=DEMO_PER_DAY,
        help=f"public items per platform per day (default {DEMO_PER_DAY})",
    )
    parser.add_argument("--seed", type=int, default=DEMO_SEED, help="random seed")
    parser.add_argument(
        "--workdir",
        default="var",
        metavar="DIR",
        help="where var/demo and var/airflow go (default ./var)",
    )
    parser.add_argument(
        "--reports",
        default="reports",
        metavar="DIR",
        help="where the report is written (default ./reports)",
    )
    parser.set_defaults(func=_demo)


def demo_config(base_url: str, warehouse_url: str, reports: Path) -> dict:
    """The demo's configuration: the sandbox's accounts, its URL, where things go."""
    from sandbox.scenario import DEFAULT_ACCOUNTS

    return {
        "council": "Bracknell Forest Council",
        "accounts": {
            platform: [{"id": acc_id, "handle": handle, "name": name, "conn_id": f"cw_{platform}"}]
            for platform, (acc_id, handle, name) in DEFAULT_ACCOUNTS.items()
        },
        "api": {
            "base_url": base_url,
            "timeout_seconds": 10,
            "max_retries": 3,
            "max_wait_seconds": 5,
        },
        "report": {"out_dir": str(reports)},
        "warehouse_url": warehouse_url,
    }


def demo_connections() -> dict[str, str]:
    """Fake tokens for every account connection and the pseudonymisation key."""
    env = {
        f"AIRFLOW_CONN_CW_{p.upper()}": json.dumps(
            {"conn_type": "generic", "password": f"demo-{p}-token"}
        )
        for p in ("facebook", "instagram", "youtube", "twitter")
    }
    env["AIRFLOW_CONN_CW_PSEUDONYM"] = json.dumps(
        {"conn_type": "generic", "password": "demo-pseudonym-key"}
    )
    return env


def _step(n: int, total: int, message: str) -> None:
    progress(f"[{n}/{total}] {message}")


def _demo(args: argparse.Namespace) -> int:
    import yaml

    from channelwatch.warehouse import make_engine, upgrade
    from orchestration.local import local_env, run_airflow, run_state, task_outcomes
    from orchestration.tasks import HOUSEKEEPING_DAG, INGESTION_DAG, REPORT_DAG
    from sandbox import server
    from sandbox.generate import generate

    if not 1 <= args.days <= 60:
        raise UserError(f"--days {args.days}: must be 1-60")
    if not 1 <= args.per_day <= 1000:
        raise UserError(f"--per-day {args.per_day}: must be 1-1000")
    started = time.monotonic()
    work = Path(args.workdir).resolve()
    demo_dir = work / "demo"
    airflow_home = work / "airflow"
    reports = Path(args.reports).resolve()
    logs = demo_dir / "logs"
    total = 6

    # 1. data, fresh each time: the demo's warehouse and sandbox are its own.
    if demo_dir.exists():
        shutil.rmtree(demo_dir)
    demo_dir.mkdir(parents=True)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    _step(1, total, f"generating {args.days} days of activity for all four platforms")
    counts = generate(demo_dir / "sandbox", args.days, args.per_day, seed=args.seed, end=now)
    progress(f"      {sum(counts.values())} API objects in {demo_dir / 'sandbox'}")

    # 2. the sandbox, serving over HTTP for as long as the demo runs.
    sandbox = server.start(demo_dir / "sandbox")
    try:
        _step(2, total, f"API sandbox serving at {sandbox.url}")

        # 3. configuration and warehouse.
        warehouse_url = f"sqlite:///{demo_dir / 'warehouse.db'}"
        config_path = demo_dir / "channelwatch.yml"
        config_path.write_text(
            "# Written by `channelwatch demo`; see channelwatch.example.yml for every key.\n"
            + yaml.safe_dump(demo_config(sandbox.url, warehouse_url, reports), sort_keys=False)
        )
        engine = make_engine(warehouse_url)
        upgrade(engine)
        engine.dispose()
        _step(3, total, f"configuration {config_path}, warehouse {demo_dir / 'warehouse.db'}")

        # 4. Airflow: metadata database, pools.
        env = local_env(
            airflow_home,
            config=config_path,
            warehouse_url=warehouse_url,
            extra={**demo_connections(), "CHANNELWATCH_DEADLINE_ALERTS": "off"},
        )
        _step(4, total, f"preparing Airflow in {airflow_home} (db migrate, pools)")
        setup = _run_cli(["airflow-setup"], env, logs / "airflow-setup.log")
        if setup.returncode != 0:
            raise UserError(
                f"`channelwatch airflow-setup` failed; see {setup.log}:\n{setup.tail(20)}"
            )

        # 5. the DAGs, for real, through `airflow dags test`: first as of yesterday evening
        # (the sandbox's clock set back, so the APIs show what existed then), then now, so
        # the report has a previous day to carry findings over from.
        _step(5, total, "running the DAGs with `airflow dags test`, yesterday then today")
        yesterday = (now - timedelta(days=1)).replace(hour=18, minute=0, second=0)
        # The clock stands still during each pass, so counts the APIs report (comments_count,
        # totalReplyCount) cannot change between two pages and trip the quality gate.
        for clock in (yesterday, now):
            sandbox.sandbox.store.clock = clock
            for dag_id in (INGESTION_DAG, HOUSEKEEPING_DAG, REPORT_DAG):
                # Yesterday's runs are dated when the sandbox stands; today's are dated when
                # they start, so the checks and the report come after the ingestion they
                # count. (Ingestion runs are recorded at the wall clock, so yesterday's
                # report lists the accounts as not ingested by then: they really were not.)
                logical = (
                    clock
                    if clock is yesterday
                    else datetime.now(timezone.utc).replace(microsecond=0)
                )
                result = run_airflow(
                    ["dags", "test", dag_id, logical.isoformat()],
                    env,
                    logs / f"{dag_id}-{logical:%Y%m%dT%H%M}.log",
                )
                outcomes = task_outcomes(result.log)
                state = run_state(result.log) or ("success" if result.returncode == 0 else "failed")
                progress(
                    f"      {dag_id} @ {logical.isoformat()}: {state} in {result.seconds:.0f} s"
                )
                for task, task_state in outcomes.items():
                    progress(f"        {task}: {task_state}")
                if result.returncode != 0 or state != "success":
                    raise UserError(
                        f"DAG {dag_id} did not succeed; its log is {result.log}:\n{result.tail(30)}"
                    )
    finally:
        sandbox.stop()

    # 6. the report.
    day = logical.astimezone(_zone(config_path)).date().isoformat()
    html = reports / day / "report.html"
    if not html.exists():
        raise UserError(f"the report DAG succeeded but {html} is missing")
    _step(
        6,
        total,
        f"done in {time.monotonic() - started:.0f} s; the report, its CSV and "
        f"JSON are in {html.parent}",
    )
    print(os.path.relpath(html) if html.is_relative_to(Path.cwd()) else html)
    return 0


def _zone(config_path: Path):
    from kernel.config import load_settings

    return load_settings(config_path).business_hours.zone


def _run_cli(args: list[str], env: dict[str, str], log: Path):
    """`channelwatch ARGS` in a child process (it imports Airflow with the demo's env)."""
    import subprocess
    import sys

    from orchestration.local import ROOT, AirflowRun

    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [sys.executable, "-m", "channelwatch", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=str(ROOT),
            timeout=600,
        )
    return AirflowRun(args, proc.returncode, time.monotonic() - started, log)
