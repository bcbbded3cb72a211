"""The fault matrix: every platform x every fault x both warehouse dialects.

Each cell starts from an empty warehouse, ingests the account cleanly at T0, then at T1
(new, edited and deleted items since) runs a pass with the fault switched on for every
endpoint of the platform *after the first half of the pass's requests*, so that it strikes
mid-pass with pages already committed:

- "once": the fault hits one request. Everything but an expired token must be retried and
  the pass complete with exactly the items that exist.
- "lasting": every later request fails. The pass must fail the account with a one-line
  error that says what happened (and, for a token, names the Airflow connection), and
  leave the watermarks where the T0 pass put them.
- "killed": the pass runs in a process of its own and is SIGKILLed while it waits for a
  page (the sandbox holds that request), after earlier pages were committed.

Whatever happened, the following clean pass must end with exactly the items visible in the
sandbox data at T1 (tests/reliability/world.py reads them from the native objects, not
through the sandbox): none lost, none duplicated, no stale text, versions 1..n with no
repeats, no watermark ahead of committed data; and a pass after that writes nothing.

The connectors' own tests (tests/connectors/test_<platform>.py) cover each fault on each
endpoint in depth; this is the cross-cutting proof through the warehouse.
`bench/reliability_matrix.py` runs this file and writes the table in docs/reliability.md.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from channelwatch import pipeline
from channelwatch.ingest import ingest_account
from channelwatch.warehouse.schema import ingestion_runs, raw_payloads
from tests.conftest import ROOT, make_settings
from tests.reliability import world
from tests.reliability.world import API, PLATFORMS, T0, T1, account

FAULTS = {
    # name in the table: (sandbox fault, its spec once, its spec lasting, API for "once")
    # A 429 once resets in 1 s (X: whole epoch seconds, plus a 1 s margin), which the run
    # waits for; a lasting one resets in 30 s,
    # longer than a run may wait.
    "429 with reset": ("429", {"seconds": 1}, {"seconds": 30}, {"max_wait_seconds": 2.5}),
    "429 without reset": ("429_noreset", {}, {}, {}),
    "500 (HTML)": ("500", {}, {}, {}),
    "502 (HTML)": ("502", {}, {}, {}),
    "timeout": ("timeout", {"seconds": 0.6}, {"seconds": 0.6}, {}),
    "malformed JSON": ("malformed_json", {}, {}, {}),
    "truncated page": ("truncated", {}, {}, {}),
    "expired token": ("expired_token", {}, {}, {}),
}
# What a lasting fault's one-line error must say (lower case, any of), besides the platform.
SAYS = {
    "429": ("rate limited",),
    "429_noreset": ("rate limited", "429"),
    "500": ("500",),
    "502": ("502",),
    "timeout": ("no answer within",),
    "malformed_json": ("json",),
    "truncated": ("json", "truncated", "cut short"),
    "expired_token": ("invalid or expired",),
}
CASES = [(name, variant) for name in FAULTS for variant in ("once", "lasting")] + [
    ("killed between pages", "killed")
]
# PostgreSQL runs the cells that end a pass early with pages committed (lasting faults, the
# kill): what differs between the dialects is the load path and its transactions. A fault
# that passes is retried inside the connector, the same whatever the warehouse; those cells
# run on SQLite only, to keep the matrix near a minute.
CELLS = [
    pytest.param(name, variant, platform, dialect, id=f"{name}-{variant}-{platform}-{dialect}")
    for name, variant in CASES
    for platform in PLATFORMS
    for dialect in ("sqlite", "postgresql")
    if not (dialect == "postgresql" and variant == "once")
]


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    """One sandbox over the data set for the whole matrix; each cell has its warehouse."""
    from sandbox import server

    data = world.build_dataset(tmp_path_factory.mktemp("matrix") / "data")
    running = server.start(data)
    running.data = data
    running.truth = {T0: world.expected(data, T0), T1: world.expected(data, T1)}
    running.known = world.all_ids(data)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def midway(sandbox, tmp_path_factory):
    """platform -> how many requests of the T1 pass to let through before the fault:
    half of what a clean T1 pass makes (measured here, so it follows the connectors)."""
    from channelwatch.warehouse import make_engine, upgrade

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('probe')}/probe.db")
    upgrade(engine)
    settings = make_settings(sandbox.url, api=API)
    out = {}
    with pytest.MonkeyPatch.context() as env:
        for name in (*PLATFORMS, "pseudonym"):
            env.setenv(f"AIRFLOW_CONN_CW_{name.upper()}", '{"password": "probe-token"}')
        for platform in PLATFORMS:
            for clock in (T0, T1):
                sandbox.set_faults([])
                sandbox.sandbox.store.clock = clock
                sandbox.reset_calls()
                probe = ingest_account(settings, engine, platform, account(platform), now=clock)
                assert probe.status == "success", probe.error
            out[platform] = sum(sandbox.calls().values()) // 2
            assert out[platform] >= 2, sandbox.calls()
    engine.dispose()
    return out


def _clean_pass(sandbox, engine, platform, clock, **api):
    sandbox.set_faults([])
    sandbox.sandbox.store.clock = clock
    return ingest_account(
        make_settings(sandbox.url, api={**API, **api}),
        engine,
        platform,
        account(platform),
        now=clock,
    )


def _faults_hit(sandbox) -> int:
    return sum(max(0, spec.seen - spec.after) for spec in sandbox.sandbox.faults)


def _kill_midway(sandbox, engine, url, platform, after):
    """Run the T1 pass in a child process and SIGKILL it while a page request is held."""
    sandbox.sandbox.store.clock = T1
    sandbox.set_faults(
        [
            {
                "endpoint": f"{platform}.*",
                "fault": "timeout",
                "times": 1,
                "after": after,
                "seconds": 10,
            }
        ]
    )
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.reliability.ingest_child",
            url,
            sandbox.url,
            platform,
            T1.isoformat(),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while _faults_hit(sandbox) == 0:
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "the child never reached the held request"
            time.sleep(0.02)
        # The connector may run ahead of the loader (channelwatch.ingest prefetches): let
        # the loader commit what had arrived, so that the kill lands between two pages.
        committed, steady = -1, 0
        while steady < 5 and time.monotonic() < deadline:
            now_committed = _pages_of_running_pass(engine, platform)
            steady = steady + 1 if now_committed == committed and committed > 0 else 0
            committed = now_committed
            time.sleep(0.04)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stdout.close()
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL
    with engine.connect() as conn:
        status = conn.execute(
            select(ingestion_runs.c.status)
            .where(ingestion_runs.c.platform == platform)
            .order_by(ingestion_runs.c.started_at.desc())
        ).scalar()
    return status, _pages_of_running_pass(engine, platform)


def _pages_of_running_pass(engine, platform) -> int:
    """Raw pages committed so far by the platform's pass still marked running."""
    with engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(raw_payloads)
            .join(ingestion_runs, ingestion_runs.c.run_id == raw_payloads.c.run_id)
            .where(ingestion_runs.c.platform == platform, ingestion_runs.c.status == "running")
        ).scalar_one()


@pytest.mark.parametrize("fault_name, variant, platform, dialect", CELLS)
def test_a_fault_midway_loses_nothing_and_duplicates_nothing(
    sandbox, midway, warehouses, fake_tokens, cell, fault_name, variant, platform, dialect
):
    cell(platform=platform, fault=fault_name, variant=variant, dialect=dialect)
    engine = warehouses(dialect)
    token = fake_tokens[platform]

    first = _clean_pass(sandbox, engine, platform, T0)
    assert first.status == "success", first.error
    world.assert_matches(engine, platform, sandbox.truth[T0][platform], sandbox.known[platform])
    before = world.marks(engine, platform)
    assert before, "the T0 pass wrote watermarks"

    if variant == "killed":
        status, pages = _kill_midway(
            sandbox, engine, warehouses.url(dialect), platform, midway[platform]
        )
        assert pages > 0, "killed before any page of the pass was committed"
        assert status == "running"  # never finished: the kill left it as it was
        assert world.marks(engine, platform) == before
        cell(outcome="killed", detail=f"SIGKILL after {pages} committed pages")
    else:
        kind, once, lasting, once_api = FAULTS[fault_name]
        sandbox.sandbox.store.clock = T1
        spec = once if variant == "once" else lasting
        sandbox.set_faults(
            [
                {
                    "endpoint": f"{platform}.*",
                    "fault": kind,
                    "times": 1 if variant == "once" else -1,
                    "after": midway[platform],
                    **spec,
                }
            ]
        )
        api = {**API, **(once_api if variant == "once" else {})}
        started = time.monotonic()
        faulted = ingest_account(
            make_settings(sandbox.url, api=api), engine, platform, account(platform), now=T1
        )
        took = time.monotonic() - started
        assert _faults_hit(sandbox) > 0, "the fault never struck"
        if variant == "once" and kind != "expired_token":
            assert faulted.status == "success", faulted.error
            world.assert_matches(
                engine, platform, sandbox.truth[T1][platform], sandbox.known[platform]
            )
            world.assert_watermarks_not_ahead(engine, platform)
            cell(outcome="completed", detail=f"retried; {faulted.api_calls} calls, {took:.1f} s")
        else:
            assert faulted.status == "failed"
            error = faulted.error or ""
            assert error and "\n" not in error and len(error) < 600, error
            assert platform in error.lower(), error
            assert any(words in error.lower() for words in SAYS[kind]), error
            assert token not in error
            if kind == "expired_token":
                assert f"'cw_{platform}'" in error, error
            assert world.marks(engine, platform) == before, "a failed pass moved a watermark"
            cell(outcome="failed", detail=error)

    if variant == "killed":
        # The production path (pipeline.ingest: the account's lock, the quality gate) heals
        # it, and records that the killed run never finished.
        sandbox.set_faults([])
        pipeline.ingest(
            make_settings(sandbox.url, api=API), engine, platform, account(platform), now=T1
        )
        with engine.connect() as conn:
            assert "abandoned" in {
                s
                for (s,) in conn.execute(
                    select(ingestion_runs.c.status).where(ingestion_runs.c.platform == platform)
                )
            }
    else:
        healed = _clean_pass(sandbox, engine, platform, T1)
        assert healed.status == "success", healed.error
    world.assert_matches(engine, platform, sandbox.truth[T1][platform], sandbox.known[platform])
    world.assert_watermarks_not_ahead(engine, platform)
    again = _clean_pass(sandbox, engine, platform, T1)
    assert again.status == "success", again.error
    assert (again.stats.new, again.stats.changed, again.stats.deleted) == (0, 0, 0)
    cell(healed=True)
