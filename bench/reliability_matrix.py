"""Run the fault matrix and the bad-input table, and write their results into
docs/reliability.md.

    .venv/bin/python bench/reliability_matrix.py [--doc docs/reliability.md] [--no-write]

Runs tests/reliability/test_fault_matrix.py and tests/reliability/test_bad_input.py with
CW_RELIABILITY_TABLE set (tests/reliability/conftest.py records every cell), then replaces
the text between the `<!-- matrix:begin -->` / `<!-- matrix:end -->` and
`<!-- bad-input:begin -->` / `<!-- bad-input:end -->` markers. Prints the counts and the
wall time; exits 1 if any cell failed (the table then shows which, with ❌).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PLATFORMS = ("facebook", "instagram", "youtube", "twitter")
NAMES = {"facebook": "Facebook", "instagram": "Instagram", "youtube": "YouTube", "twitter": "X"}
VARIANTS = {"once": "once", "lasting": "lasting", "killed": "SIGKILL"}
TESTS = ("tests/reliability/test_fault_matrix.py", "tests/reliability/test_bad_input.py")


def run_tests() -> tuple[list[dict], float, int]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cells.json"
        env = {**os.environ, "CW_RELIABILITY_TABLE": str(out)}
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
            cwd=ROOT,
            env=env,
        )
        wall = time.monotonic() - started
        cells = json.loads(out.read_text()) if out.exists() else []
    return cells, wall, done.returncode


def mark(cell: dict | None) -> str:
    if cell is None:
        return "—"
    if cell.get("passed") is None:
        return "skipped"
    return "✅" if cell["passed"] else "❌"


def outcome(cells: list[dict]) -> str:
    seen = {c.get("outcome") for c in cells if c.get("outcome")}
    if seen == {"completed"}:
        return "retried, pass completes"
    if seen == {"failed"}:
        return "account fails, one line"
    if seen == {"killed"}:
        return "pass killed mid-way"
    return ", ".join(sorted(seen)) or "?"


def matrix_table(cells: list[dict]) -> str:
    by = defaultdict(dict)
    order: list[tuple[str, str]] = []
    for c in cells:
        key = (c["fault"], c["variant"])
        if key not in order:
            order.append(key)
        by[key][(c["platform"], c["dialect"])] = c
    head = (
        "| fault | how long | faulted pass | "
        + " | ".join(NAMES[p] for p in PLATFORMS)
        + " |\n|---|---|---|"
        + "---|" * len(PLATFORMS)
        + "\n"
    )
    rows = []
    for fault, variant in order:
        row = by[(fault, variant)]
        marks = [
            f"{mark(row.get((p, 'sqlite')))} {mark(row.get((p, 'postgresql')))}" for p in PLATFORMS
        ]
        rows.append(
            f"| {fault} | {VARIANTS[variant]} | {outcome(list(row.values()))} | "
            + " | ".join(marks)
            + " |"
        )
    return head + "\n".join(rows) + "\n"


def errors_table(cells: list[dict]) -> str:
    lines = [
        "| fault | platform | the account's error (lasting fault, SQLite run) |",
        "|---|---|---|",
    ]
    for c in cells:
        if c["variant"] == "lasting" and c["dialect"] == "sqlite" and c.get("detail"):
            detail = c["detail"].replace("|", "\\|")
            lines.append(f"| {c['fault']} | {NAMES[c['platform']]} | {code(detail)} |")
    return "\n".join(lines) + "\n"


def bad_input_table(cells: list[dict]) -> str:
    lines = ["| case | command | exit | stderr (the whole of it) | |", "|---|---|---|---|---|"]
    for c in cells:
        command = c["command"].replace("|", "\\|").replace("f" * 10, "ID")  # the finding's id
        stderr = c.get("stderr", "").replace("|", "\\|")
        stderr = re.sub(r"/tmp/\S*?/case\d\d/", "", stderr)
        lines.append(
            f"| {c['case']} | `{command}` | {c.get('code')} | {code(stderr)} | {mark(c)} |"
        )
    return "\n".join(lines) + "\n"


def code(text: str) -> str:
    """Inline code that may itself hold backticks."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


def replace(doc: str, name: str, body: str) -> str:
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(begin) + ".*?" + re.escape(end), re.S)
    if not pattern.search(doc):
        raise SystemExit(f"{name}: markers {begin} ... {end} not found in the document")
    return pattern.sub(lambda _: f"{begin}\n{body}{end}", doc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--doc", default=str(ROOT / "docs" / "reliability.md"))
    parser.add_argument("--no-write", action="store_true", help="print, do not write the doc")
    args = parser.parse_args()
    cells, wall, code = run_tests()
    matrix = [c for c in cells if c.get("fault")]
    bad = [c for c in cells if c.get("kind") == "bad_input"]
    passed = sum(1 for c in cells if c.get("passed"))
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    summary = (
        f"_Generated by `bench/reliability_matrix.py` on {stamp}: {len(matrix)} matrix "
        f"cells and {len(bad)} bad-input cases, {passed} of {len(cells)} passing; "
        f"{wall:.0f} s wall time for both files on this 2-core machine._\n\n"
    )
    print(
        f"{len(matrix)} matrix cells, {len(bad)} bad-input cases: {passed}/{len(cells)} "
        f"passed in {wall:.1f} s (pytest exit {code})"
    )
    matrix_md = summary + matrix_table(matrix) + "\n" + errors_table(matrix)
    if args.no_write:
        print(matrix_md)
        print(bad_input_table(bad))
    else:
        doc = Path(args.doc).read_text(encoding="utf-8")
        doc = replace(doc, "matrix", matrix_md)
        doc = replace(doc, "bad-input", bad_input_table(bad))
        Path(args.doc).write_text(doc, encoding="utf-8")
        print(f"wrote {args.doc}")
    return 0 if code == 0 and passed == len(cells) else 1


if __name__ == "__main__":
    sys.exit(main())
