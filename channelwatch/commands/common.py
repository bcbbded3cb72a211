"""Options and helpers shared by sub-commands."""

from __future__ import annotations

import argparse
import os
import sys

from kernel.config import Settings, load_settings


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        metavar="FILE",
        default=os.environ.get("CHANNELWATCH_CONFIG"),
        help="configuration file (default: $CHANNELWATCH_CONFIG, else built-in defaults)",
    )


def settings_from_args(args: argparse.Namespace) -> Settings:
    return load_settings(getattr(args, "config", None))


def progress(message: str) -> None:
    """A progress line on stderr (stdout stays for results)."""
    print(message, file=sys.stderr, flush=True)
