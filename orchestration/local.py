"""Running Airflow on this machine: the environment, `airflow db migrate`, `airflow dags test`.

Used by `channelwatch demo`, `channelwatch airflow-setup` and the tests. Airflow is driven
through its own command line in a child process, with its configuration in the
environment (AIRFLOW__SECTION__KEY), so nothing here imports Airflow.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DAGS_FOLDER = ROOT / "dags"


def airflow_executable() -> str:
    """The `airflow` script of this interpreter's environment."""
    here = Path(sys.executable).with_name("airflow")
    if here.exists():
        return str(here)
    found = shutil.which("airflow")
    if not found:
        from kernel.errors import UserError

        raise UserError(
            "the `airflow` command is not installed in this environment (run `make venv`)"
        )
    return found


def local_env(
    airflow_home: Path,
    *,
    config: Path | None = None,
    warehouse_url: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for Airflow commands with a local SQLite metadata database.

    Args:
        airflow_home: AIRFLOW_HOME (created); the metadata database is airflow.db in it.
        config: the channelwatch configuration (CHANNELWATCH_CONFIG).
        warehouse_url: WAREHOUSE_URL.
        extra: more variables (connections, AIRFLOW__* overrides).
    """
    airflow_home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS_FOLDER),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
            "GX_ANALYTICS_ENABLED": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    if config is not None:
        env["CHANNELWATCH_CONFIG"] = str(config)
    if warehouse_url is not None:
        env["WAREHOUSE_URL"] = warehouse_url
    env.update(extra or {})
    return env


@dataclasses.dataclass(slots=True)
class AirflowRun:
    """One Airflow command: its exit code, how long it took, where its output went."""

    args: list[str]
    returncode: int
    seconds: float
    log: Path

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace").splitlines()
        return "\n".join(text[-lines:])


def run_airflow(
    args: list[str], env: Mapping[str, str], log: Path, timeout: float = 900
) -> AirflowRun:
    """Run `airflow ARGS...`, its output (stdout and stderr) written to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.run(
            [airflow_executable(), *args],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            cwd=str(ROOT),
        )
    return AirflowRun(list(args), proc.returncode, time.monotonic() - started, log)


_END_TASK = re.compile(r"\[DAG TEST\] end task task_id=(\S+) map_index=(-?\d+)")
_STATE = re.compile(r"Task instance state updated.*?new_state=(\w+).*?ti_id=(\S+)")
_RUN_STATE = re.compile(r"DagRun Finished: dag_id=(\S+),.*?state=(\w+)")


def task_outcomes(log: Path) -> dict[str, str]:
    """Task states from an `airflow dags test` log: {"task_id[map_index]": state}."""
    text = log.read_text(encoding="utf-8", errors="replace")
    states = [m.group(1) for m in _STATE.finditer(text)]
    ends = [(m.group(1), int(m.group(2))) for m in _END_TASK.finditer(text)]
    out = {}
    for i, (task_id, index) in enumerate(ends):
        key = task_id if index < 0 else f"{task_id}[{index}]"
        out[key] = states[i] if i < len(states) else "?"
    return out


def run_state(log: Path) -> str | None:
    """The DAG run's final state from an `airflow dags test` log."""
    text = log.read_text(encoding="utf-8", errors="replace")
    found = _RUN_STATE.findall(text)
    return found[-1][1] if found else None
