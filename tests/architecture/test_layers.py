"""The layers hold (docs/architecture.md): import-linter's contracts in .importlinter, and
the core imports and runs a check without Airflow installed."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

# What a process without Airflow sees: any `import airflow...` fails as if not installed.
_NO_AIRFLOW = """
import importlib.abc, sys

class NoAirflow(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "airflow" or name.startswith("airflow."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, NoAirflow())
import importlib, pkgutil
for package in ("kernel", "connectors", "checks", "channelwatch", "sandbox"):
    root = importlib.import_module(package)
    for info in pkgutil.walk_packages(root.__path__, package + "."):
        if ".migrations" in info.name or info.name.endswith("__main__"):
            continue  # Alembic's env.py runs only under Alembic
        importlib.import_module(info.name)
assert not [m for m in sys.modules if m == "airflow" or m.startswith("airflow.")]
from channelwatch.cli import build_parser
names = sorted(build_parser()._subparsers._group_actions[0].choices)
print(" ".join(names))
"""


def test_the_import_contracts_hold():
    out = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable), "lint-imports")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "Contracts: 5 kept, 0 broken." in out.stdout


def test_the_core_imports_and_runs_its_commands_without_airflow():
    out = subprocess.run(
        [sys.executable, "-c", _NO_AIRFLOW],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    # Without Airflow the core's commands are all there; the adapter's two are not.
    commands = out.stdout.split()
    assert {"run", "check", "report", "findings", "erase", "db", "sandbox"} <= set(commands)
    assert "demo" not in commands and "airflow-setup" not in commands
