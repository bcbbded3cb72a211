"""The `channelwatch` command line.

Each sub-command lives in its own module under channelwatch/commands/ and exposes
``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code. Errors a user can fix are raised as
`UserError` (or `ConfigError`) and printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from channelwatch.config import ConfigError
from channelwatch.errors import UserError

COMMAND_MODULES = (
    "demo",
    "run",
    "db",
    "sandbox",
    "check",
    "report",
    "findings",
    "erase",
    "airflow_setup",
)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, exit code 2, like argparse but shorter
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every sub-command that is installed."""
    parser = _Parser(
        prog="channelwatch",
        description="Monitor a council's corporate social media against its social media "
                    "policy: ingest posts and comments, check them, report each morning.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"channelwatch.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"channelwatch.commands.{name}":
                continue  # not built yet
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (UserError, ConfigError) as exc:
        print(f"channelwatch: error: {exc}", file=sys.stderr)
        return getattr(exc, "exit_code", 2)
    except KeyboardInterrupt:
        print("channelwatch: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and the reader left: not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
