"""`channelwatch run` and `channelwatch demo` as a person types them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import yaml

from orchestration.commands.demo import demo_config, demo_connections

ROOT = Path(__file__).resolve().parents[2]


def cli(*args, env=None, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "channelwatch", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd or ROOT,
        timeout=300,
    )


def test_run_ingests_checks_and_prints_the_report_path_last(tmp_path, sandbox_factory):
    from sandbox.generate import generate

    generate(tmp_path / "data", 2, 6, seed=2)
    sandbox = sandbox_factory(tmp_path / "data")
    config = tmp_path / "cw.yml"
    url = f"sqlite:///{tmp_path / 'w.db'}"
    config.write_text(yaml.safe_dump(demo_config(sandbox.url, url, tmp_path / "reports")))
    out = cli("run", "--config", str(config), env={**demo_connections(), "WAREHOUSE_URL": url})
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stdout.strip().splitlines()[-1]
    assert last.endswith("report.html") and Path(last).exists()
    assert "items checked" in out.stdout
    assert "ingesting facebook account" in out.stderr  # progress goes to stderr
    summary = json.loads((Path(last).parent / "summary.json").read_text())
    assert summary["pipeline"]["not_ingested"] == []


def test_run_refuses_bad_dates_in_one_line(tmp_path):
    future = (date.today() + timedelta(days=3)).isoformat()
    for args, message in (
        (["--date", future], "in the future"),
        (["--date", "last tuesday"], "not a date"),
    ):
        out = cli("run", *args, env={"WAREHOUSE_URL": f"sqlite:///{tmp_path / 'w.db'}"})
        assert out.returncode == 2
        assert message in out.stderr and len(out.stderr.strip().splitlines()) == 1
        assert "Traceback" not in out.stderr


def test_demo_refuses_bad_arguments_before_doing_anything(tmp_path):
    out = cli("demo", "--days", "0", "--workdir", str(tmp_path / "var"))
    assert out.returncode == 2 and "--days 0" in out.stderr
    assert not (tmp_path / "var").exists()
    help_text = cli("demo", "--help").stdout
    assert "airflow dags test" in help_text and "report" in help_text
