"""The `channelwatch` command line.

Each sub-command lives in its own module and exposes ``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking the
parsed arguments and returning an exit code. Errors a user can fix are raised as
`UserError` (or `ConfigError`) and printed as one line, never as a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from kernel.config import ConfigError
from kernel.errors import UserError

# The core's commands, then the two the Airflow adapter contributes: they are named, not
# imported, so the core imports nothing of the adapter, and a core installed without
# Airflow simply has no `demo` or `airflow-setup` command.
COMMAND_MODULES = (
    "orchestration.commands.demo",
    "channelwatch.commands.run",
    "channelwatch.commands.db",
    "channelwatch.commands.sandbox",
    "channelwatch.commands.check",
    "channelwatch.commands.report",
    "channelwatch.commands.findings",
    "channelwatch.commands.erase",
    "orchestration.commands.airflow_setup",
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
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if name.startswith(f"{exc.name}.") or exc.name == name or exc.name == "airflow":
                continue  # the adapter (or Airflow) is not installed here
            raise
        module.register(sub)
    return parser


# Where Airflow is installed, the adapter lets commands find connections kept in Airflow
# (named, not imported: see COMMAND_MODULES).
CREDENTIALS_ADAPTER = "orchestration.credentials"


def _install_adapter() -> None:
    try:
        importlib.import_module(CREDENTIALS_ADAPTER).install()
    except ImportError:
        pass  # no adapter, or no Airflow: connections come from the environment only


def main(argv: list[str] | None = None) -> int:
    _install_adapter()
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
