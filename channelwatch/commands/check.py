"""`channelwatch check`: run the compliance checks over canonical items (JSON Lines).

The same `checks.run_checks` the pipeline calls. Exit codes: 0 all lines checked; 1 some
input lines were malformed (each reported as "line N: reason" on stderr and skipped, the
rest checked and written); 2 the input, output or configuration could not be used.
"""

from __future__ import annotations

import argparse
import json
import sys
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import IO

from kernel.config import load_settings
from kernel.errors import UserError
from kernel.items import Item, ItemError, parse_timestamp


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check",
        help="check canonical items (JSON Lines) against the social media policy",
        description="Check canonical items against the council's social media policy and "
        "write one finding per line (item_id, platform, category, rule, severity, "
        "evidence, route, due_at, detected_at). A malformed input line is "
        "reported as 'line N: reason' and skipped; the exit code is then 1.",
    )
    parser.add_argument(
        "--input",
        required=True,
        metavar="ITEMS.jsonl",
        help="canonical items, one JSON object a line ('-' for stdin)",
    )
    parser.add_argument(
        "--output",
        required=True,
        metavar="FINDINGS.jsonl",
        help="where to write findings ('-' for stdout)",
    )
    parser.add_argument(
        "--as-of",
        metavar="ISO-8601",
        default=None,
        help="check as of this time, with a UTC offset (default: now); "
        "decides which unanswered items are overdue",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=None,
        help="configuration YAML (default: built-in defaults)",
    )
    parser.set_defaults(func=run)


def _read_items(stream: IO[str]) -> tuple[list[Item], list[str]]:
    items: list[Item] = []
    problems: list[str] = []
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(f"line {number}: not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        try:
            items.append(Item.from_dict(data))
        except ItemError as exc:
            problems.append(f"line {number}: {exc}")
    return items, problems


def run(args: argparse.Namespace) -> int:
    from checks import run_checks  # lexicons load only when checking
    from checks.matcher import LexiconError

    settings = load_settings(args.config)
    if args.as_of:
        try:
            as_of = parse_timestamp(args.as_of, "--as-of")
        except ItemError as exc:
            raise UserError(str(exc).replace("field '--as-of'", "--as-of")) from None
    else:
        as_of = datetime.now(UTC)

    with ExitStack() as stack:
        if args.input == "-":
            source: IO[str] = sys.stdin
        else:
            try:
                source = stack.enter_context(open(args.input, encoding="utf-8"))
            except OSError as exc:
                raise UserError(f"{args.input}: cannot read: {exc.strerror}") from None
        try:
            items, problems = _read_items(source)
        except UnicodeDecodeError:
            raise UserError(f"{args.input}: not UTF-8 text") from None
        except OSError as exc:
            raise UserError(f"{args.input}: cannot read: {exc.strerror}") from None

        for problem in problems:
            print(problem, file=sys.stderr)
        try:
            findings = run_checks(items, settings, as_of)
        except LexiconError as exc:
            raise UserError(str(exc)) from None

        if args.output == "-":
            sink: IO[str] = sys.stdout
        else:
            try:
                sink = stack.enter_context(open(args.output, "w", encoding="utf-8"))
            except OSError as exc:
                raise UserError(f"{args.output}: cannot write: {exc.strerror}") from None
        for finding in findings:
            sink.write(json.dumps(finding.to_dict(), ensure_ascii=False) + "\n")
        sink.flush()
    print(
        f"checked {len(items)} items: {len(findings)} findings"
        + (f"; {len(problems)} malformed lines skipped" if problems else ""),
        file=sys.stderr,
    )
    return 1 if problems else 0
