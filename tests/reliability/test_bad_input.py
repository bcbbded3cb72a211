"""Bad configuration and bad command-line input: one clear line, a non-zero exit, no
traceback, nothing written.

Each case runs `python -m channelwatch ...` as a user would, in a directory of its own
holding a valid configuration, a migrated SQLite warehouse with a finding in it, and the
files the case needs. Afterwards stderr must be exactly one line naming the problem (the
argument, key path or file, and why), the exit code non-zero, and the directory —
warehouse rows included — exactly as it was. The cases run a few at a time, in parallel.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path

import pytest

from tests.conftest import ROOT


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    args: tuple[str, ...]
    says: tuple[str, ...]  # fragments the error line must contain


GOOD_CONFIG = """\
warehouse_url: sqlite:///{dir}/warehouse.db
report: {{out_dir: {dir}/reports}}
accounts:
  facebook: [{{id: "104958162837", name: Council, conn_id: cw_facebook}}]
"""
BAD_CONFIGS = {
    "yaml.yml": "accounts: [unclosed\n",
    "unknown.yml": "acounts: {}\n",
    "secret.yml": "accounts:\n  facebook: [{id: '1', name: C, conn_id: c, token: abc}]\n",
    "zone.yml": "business_hours: {timezone: Europe/Londres}\n",
    "email.yml": "report: {recipients: [comms-at-council]}\n",
    "latin1.yml": None,  # written as bytes below
    "unreachable.yml": "warehouse_url: postgresql://postgres@127.0.0.1:1/nothing\n",
}
# Hostile configurations (issue 15), each pointing at the case's warehouse and report folder,
# so that one accepted by mistake would show in the directory's state.
HOSTILE_HEAD = "warehouse_url: sqlite:///{dir}/warehouse.db\n"
HOSTILE_CONFIGS = {
    "time.yml": "business_hours:\n  start: 9:00\n",
    "dup.yml": "accounts:\n  facebook: [{{id: '1', name: A, conn_id: cw_a}}]\n"
    "  facebook: [{{id: '2', name: B, conn_id: cw_b}}]\n",
    "bomb.yml": "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8)
    ),
    "zero.yml": "lexicons:\n  abuse: /dev/zero\n",
    "folderzone.yml": "business_hours: {{timezone: Europe}}\n",
    "outfile.yml": "report: {{out_dir: items.jsonl}}\n",
    "inf.yml": "monitoring: {{gap_hours: .inf}}\n",
    "checkkey.yml": "checks: {{foi_workng_days: 20}}\n",
    "big.yml": "council: '" + "x" * 1_000_000 + "'\n",
}
FINDING = "f" * 40

CASES = [
    # channelwatch check
    Case(
        "check: missing input",
        ("check", "--input", "nothing.jsonl", "--output", "out.jsonl"),
        ("nothing.jsonl", "cannot read"),
    ),
    Case(
        "check: input not UTF-8",
        ("check", "--input", "latin1.jsonl", "--output", "out.jsonl"),
        ("latin1.jsonl", "not UTF-8"),
    ),
    Case(
        "check: output folder missing",
        ("check", "--input", "items.jsonl", "--output", "no/such/dir/out.jsonl"),
        ("no/such/dir/out.jsonl", "cannot write"),
    ),
    # channelwatch report
    Case(
        "report: impossible date",
        ("report", "--config", "good.yml", "--date", "2026-02-30"),
        ("--date", "2026-02-30", "not a date"),
    ),
    Case(
        "report: day in the future",
        ("report", "--config", "good.yml", "--date", "2999-01-01"),
        ("2999-01-01", "future"),
    ),
    Case(
        "report: no warehouse yet",
        ("report", "--config", "fresh.yml", "--date", "2026-03-01"),
        ("warehouse", "db upgrade"),
    ),
    # channelwatch findings
    Case(
        "findings: unknown status",
        ("findings", "list", "--config", "good.yml", "--status", "closed"),
        ("unknown status", "'closed'"),
    ),
    Case(
        "findings: bad --since",
        ("findings", "list", "--config", "good.yml", "--since", "last week"),
        ("'last week'", "not a date"),
    ),
    Case(
        "findings: dismiss without a reason",
        ("findings", "dismiss", FINDING[:10], "--config", "good.yml", "--by", "ann"),
        ("reason",),
    ),
    Case(
        "findings: resolve one good, one unknown id (all or nothing)",
        ("findings", "resolve", FINDING[:10], "fedcba9876", "--config", "good.yml", "--by", "ann"),
        ("no finding", "fedcba9876"),
    ),
    # channelwatch sandbox
    Case(
        "sandbox generate: --days 0",
        ("sandbox", "generate", "--out", "gen", "--days", "0"),
        ("--days 0",),
    ),
    Case(
        "sandbox generate: --end not a time",
        ("sandbox", "generate", "--out", "gen", "--end", "tomorrow"),
        ("--end", "tomorrow"),
    ),
    Case(
        "sandbox serve: no such folder",
        ("sandbox", "serve", "--data", "nowhere", "--port", "0"),
        ("--data", "nowhere", "not a directory"),
    ),
    Case(
        "sandbox serve: port out of range",
        ("sandbox", "serve", "--data", ".", "--port", "70000"),
        ("--port 70000",),
    ),
    Case(
        "sandbox serve: faults file not JSON",
        ("sandbox", "serve", "--data", ".", "--port", "0", "--faults", "good.yml"),
        ("--faults good.yml", "Expecting value"),
    ),
    Case(
        "sandbox serve: a fault without its kind",
        ("sandbox", "serve", "--data", ".", "--port", "0", "--faults", "items.jsonl"),
        ("--faults", "unknown fault"),
    ),
    Case(
        "sandbox serve: unknown fault",
        ("sandbox", "serve", "--data", ".", "--port", "0", "--faults", "faults.json"),
        ("--faults", "unknown fault", "'meltdown'"),
    ),
    # channelwatch db upgrade
    Case(
        "db upgrade: not a URL",
        ("db", "upgrade", "--url", "warehouse please"),
        ("not a database URL",),
    ),
    Case(
        "db upgrade: another database",
        ("db", "upgrade", "--url", "mysql://root@localhost/cw"),
        ("sqlite", "postgresql"),
    ),
    Case(
        "db upgrade: PostgreSQL refuses",
        ("db", "upgrade", "--url", "postgresql://postgres@127.0.0.1:1/cw"),
        ("cannot reach the warehouse", "127.0.0.1:1"),
    ),
    # channelwatch erase
    Case(
        "erase: empty author",
        ("erase", "--config", "good.yml", "--author", " ", "--reason", "SAR-1"),
        ("--author",),
    ),
    Case(
        "erase: no warehouse yet",
        ("erase", "--config", "fresh.yml", "--author", "u1", "--reason", "r"),
        ("warehouse", "db upgrade"),
    ),
    # channelwatch run
    Case(
        "run: not a date",
        ("run", "--config", "good.yml", "--date", "01/03/2026"),
        ("--date", "01/03/2026"),
    ),
    Case(
        "run: day in the future",
        ("run", "--config", "good.yml", "--date", "2999-01-01"),
        ("2999-01-01", "future"),
    ),
    Case(
        "run: warehouse unreachable",
        ("run", "--config", "unreachable.yml", "--date", "2021-03-01"),
        ("cannot reach the warehouse",),
    ),
    # configuration files (through the commands that read them)
    Case(
        "config: file missing", ("report", "--config", "missing.yml"), ("missing.yml", "not found")
    ),
    Case("config: YAML syntax", ("report", "--config", "yaml.yml"), ("yaml.yml", "line", "YAML")),
    Case(
        "config: unknown key",
        ("run", "--config", "unknown.yml"),
        ("unknown.yml", "acounts", "unknown key"),
    ),
    Case(
        "config: a secret in the file",
        ("findings", "list", "--config", "secret.yml"),
        ("secret.yml", "token", "Airflow connection"),
    ),
    Case(
        "config: unknown time zone",
        ("report", "--config", "zone.yml"),
        ("zone.yml", "business_hours.timezone", "Europe/Londres"),
    ),
    Case(
        "config: not an email address",
        ("run", "--config", "email.yml"),
        ("email.yml", "report.recipients", "comms-at-council"),
    ),
    Case(
        "config: not UTF-8",
        ("erase", "--config", "latin1.yml", "--author", "u", "--reason", "r"),
        ("latin1.yml", "UTF-8"),
    ),
    Case(
        "config: unquoted time 9:00",
        ("run", "--config", "time.yml", "--date", "2026-03-01"),
        ("time.yml", "business_hours.start", "base-60 number 540", "quotes"),
    ),
    Case(
        "config: a key given twice",
        ("report", "--config", "dup.yml", "--date", "2026-03-01"),
        ("dup.yml", "accounts.facebook", "duplicate key (lines 3 and 4)"),
    ),
    Case(
        "config: alias bomb",
        ("findings", "list", "--config", "bomb.yml"),
        ("bomb.yml", "anchors and aliases"),
    ),
    Case(
        "config: lexicon is /dev/zero",
        ("check", "--input", "items.jsonl", "--output", "out.jsonl", "--config", "zero.yml"),
        ("zero.yml", "lexicons.abuse", "not a regular file"),
    ),
    Case(
        "config: time zone is a folder",
        ("run", "--config", "folderzone.yml"),
        ("folderzone.yml", "business_hours.timezone", "'Europe'"),
    ),
    Case(
        "config: report folder is a file",
        ("run", "--config", "outfile.yml", "--no-ingest"),
        ("outfile.yml", "report.out_dir", "is a file"),
    ),
    Case(
        "config: infinite gap_hours",
        ("erase", "--config", "inf.yml", "--author", "u", "--reason", "r"),
        ("inf.yml", "monitoring.gap_hours", "finite"),
    ),
    Case(
        "config: misspelt check key",
        ("run", "--config", "checkkey.yml", "--no-ingest"),
        ("checkkey.yml", "checks.foi_workng_days", "unknown key"),
    ),
    Case("config: over 1 MB", ("report", "--config", "big.yml"), ("big.yml", "larger than 1 MB")),
    Case(
        "CHANNELWATCH_CONFIG names a bad file", ("findings", "list"), ("env-bad.yml", "unknown key")
    ),
    # the command line itself
    Case("no such command", ("frobnicate",), ("invalid choice", "frobnicate")),
]


def _template(root: Path) -> Path:
    """A directory with a good configuration, a migrated warehouse holding one finding, and
    the inputs the cases refer to."""
    from channelwatch.findings import sync_findings
    from channelwatch.warehouse import make_engine, upgrade
    from kernel.config import settings_from_dict

    root.mkdir()
    (root / "good.yml").write_text(GOOD_CONFIG.format(dir=root))
    (root / "fresh.yml").write_text(f"warehouse_url: sqlite:///{root}/never/warehouse.db\n")
    (root / "env-bad.yml").write_text("acount: {}\n")
    for name, text in BAD_CONFIGS.items():
        if text is not None:
            (root / name).write_text(text)
    for name, text in HOSTILE_CONFIGS.items():
        (root / name).write_text(HOSTILE_HEAD.format(dir=root) + text.format())
    (root / "latin1.yml").write_bytes("council: Conseil général de l'Orne\n".encode("latin-1"))
    (root / "latin1.jsonl").write_bytes('{"text": "caf\xe9"}\n'.encode("latin-1"))
    (root / "items.jsonl").write_text(
        '{"platform": "facebook", "id": "1", "kind": "comment", "created_at": '
        '"2026-03-01T10:00:00+00:00", "text": "hello", "parent_id": "p"}\n'
    )
    (root / "faults.json").write_text('[{"endpoint": "facebook.*", "fault": "meltdown"}]')
    (root / "gen-dir").mkdir()
    engine = make_engine(f"sqlite:///{root}/warehouse.db")
    upgrade(engine)
    sync_findings(
        engine,
        [
            {
                "platform": "facebook",
                "item_id": "1",
                "rule": "moderation.abuse",
                "category": "moderation",
                "severity": "medium",
                "evidence": "x",
            }
        ],
        now=datetime(2026, 3, 1, 12, tzinfo=timezone.utc),
    )
    engine.dispose()
    settings_from_dict({"warehouse_url": f"sqlite:///{root}/warehouse.db"})  # valid
    return root


def _finding_id(root: Path) -> str:
    with sqlite3.connect(root / "warehouse.db") as conn:
        return conn.execute("select finding_id from findings").fetchone()[0]


def state(root: Path) -> dict:
    """Every file's size and modification time (folders too), and every table's rows.
    SQLite's own -wal and -shm files come and go with connections; the rows are compared."""
    files = {
        str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
        if p.is_file()
        else "folder"
        for p in sorted(root.rglob("*"))
        if not p.name.startswith("warehouse.db")
    }
    with sqlite3.connect(f"file:{root / 'warehouse.db'}?mode=ro", uri=True) as conn:
        tables = [
            t
            for (t,) in conn.execute(
                "select name from sqlite_master where type = 'table' order by name"
            )
        ]
        rows = {t: sorted(map(repr, conn.execute(f"select * from {t}"))) for t in tables}
    return {"files": files, "rows": rows}


def run(case: Case, template: Path, base: Path) -> dict:
    home = base / f"case{CASES.index(case):02d}"
    shutil.copytree(template, home)
    # The template's absolute paths point at the template: re-point them at the copy.
    for path in home.glob("*.yml"):
        try:
            text = path.read_text()
        except UnicodeDecodeError:
            continue
        path.write_text(text.replace(str(template), str(home)))
    args = [a.replace(FINDING[:10], _finding_id(home)[:10]) for a in case.args]
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CHANNELWATCH_", "WAREHOUSE_URL", "AIRFLOW_CONN_"))
    }
    env["PYTHONPATH"] = str(ROOT)
    if case.name.startswith("CHANNELWATCH_CONFIG"):
        env["CHANNELWATCH_CONFIG"] = str(home / "env-bad.yml")
    before = state(home)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "channelwatch", *args],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return {
        "case": case,
        "code": done.returncode,
        "stdout": done.stdout,
        "stderr": done.stderr,
        "before": before,
        "after": state(home),
        "seconds": time.monotonic() - started,
    }


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad-input")
    template = _template(base / "template")
    with ThreadPoolExecutor(max_workers=4) as pool:
        done = list(pool.map(lambda c: run(c, template, base), CASES))
    return {r["case"].name: r for r in done}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_input_is_one_clear_line_a_failure_and_no_change(results, case, cell):
    r = results[case.name]
    lines = r["stderr"].strip().splitlines()
    cell(
        kind="bad_input",
        case=case.name,
        command="channelwatch " + " ".join(case.args),
        code=r["code"],
        stderr=lines[-1] if lines else "",
    )
    assert r["code"] != 0, r["stdout"]
    assert "Traceback" not in r["stderr"] + r["stdout"], r["stderr"]
    assert len(lines) == 1, r["stderr"]
    line = lines[0]
    assert line.startswith("channelwatch") and "error" in line, line
    for fragment in case.says:
        assert fragment in line, (fragment, line)
    assert r["after"] == r["before"], "the command wrote something"


def test_there_are_at_least_twenty_cases_across_every_command():
    assert len(CASES) >= 20
    commands = {c.args[0] for c in CASES if c.args}
    assert {"check", "report", "findings", "sandbox", "db", "erase", "run"} <= commands
