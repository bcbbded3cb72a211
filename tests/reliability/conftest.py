"""Fixtures of the reliability tests, and the fault matrix's results table.

A test that is a cell of the fault matrix records itself with the `cell` fixture:
``cell(platform=..., fault=..., dialect=..., outcome=...)``. When the environment variable
CW_RELIABILITY_TABLE names a file, the session writes every recorded cell there as JSON
(pass or fail, with its outcome); bench/reliability_matrix.py turns it into the table in
docs/reliability.md.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from channelwatch.warehouse import make_engine, upgrade
from tests.conftest import _fresh_pg_schema
from tests.reliability import world

_CELLS: dict[str, dict] = {}


@pytest.fixture
def cell(request):
    """Record this test as a cell of the fault matrix (see the module docstring)."""
    entry = {"nodeid": request.node.nodeid, "started": time.monotonic()}
    _CELLS[request.node.nodeid] = entry

    def record(**values) -> None:
        entry.update(values)

    return record


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    entry = _CELLS.get(item.nodeid)
    if entry is not None and report.when == "call":
        entry["passed"] = report.passed
        entry["seconds"] = round(time.monotonic() - entry.pop("started", time.monotonic()), 2)
        if report.failed:
            entry["failure"] = str(
                report.longrepr.reprcrash.message
                if hasattr(report.longrepr, "reprcrash")
                else report.longrepr
            ).splitlines()[0][:300]
    elif entry is not None and report.skipped:
        entry["passed"] = None
        entry.pop("started", None)
    return report


def pytest_sessionfinish(session, exitstatus):
    target = os.environ.get("CW_RELIABILITY_TABLE")
    if target and _CELLS:
        Path(target).write_text(json.dumps(list(_CELLS.values()), indent=1, default=str))


@pytest.fixture(scope="module")
def warehouses(request, tmp_path_factory):
    """One migrated warehouse per dialect for the module, emptied before each use:
    ``warehouses("sqlite" | "postgresql")`` -> engine."""
    engines = {}

    def get(dialect: str):
        if dialect not in engines:
            if dialect == "sqlite":
                url = f"sqlite:///{tmp_path_factory.mktemp('wh')}/warehouse.db"
            else:
                url = _fresh_pg_schema(request.getfixturevalue("pg_database"))
            engine = make_engine(url)
            upgrade(engine)
            engines[dialect] = (engine, url)
        engine, _ = engines[dialect]
        world.wipe(engine)
        return engine

    get.url = lambda dialect: engines[dialect][1]
    yield get
    for engine, _ in engines.values():
        engine.dispose()
