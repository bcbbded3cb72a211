"""`channelwatch erase --author ID`: remove one person's data everywhere (UK GDPR)."""

from __future__ import annotations

import argparse
import getpass
import json

from channelwatch.commands.common import add_config_option, settings_from_args
from kernel.errors import UserError
from kernel.items import PLATFORMS


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "erase",
        help="remove one person's items across every table",
        description="Right to erasure: delete every item written by the author (with its "
        "versions, responses and findings), remove their objects from the raw API "
        "pages and quarantined batches, and record the erasure (with a keyed hash "
        "of the id, never the id itself).",
    )
    parser.add_argument("--author", required=True, metavar="ID", help="the author's platform id")
    parser.add_argument(
        "--platform", choices=PLATFORMS, help="only this platform (default: every platform)"
    )
    parser.add_argument(
        "--by",
        default=None,
        metavar="PERSON",
        help="who is carrying out the erasure (default: $USER)",
    )
    parser.add_argument("--reason", required=True, help="why, e.g. the request's reference")
    add_config_option(parser)
    parser.set_defaults(func=_erase)


def _erase(args: argparse.Namespace) -> int:
    from channelwatch.privacy import erase_author, pseudonymiser
    from channelwatch.warehouse import make_engine
    from channelwatch.warehouse.migrate import current_revision

    author = args.author.strip()
    if not author:
        raise UserError("--author must not be empty")
    if not args.reason.strip():
        raise UserError("--reason must not be empty")
    settings = settings_from_args(args)
    engine = make_engine(settings.resolved_warehouse_url(), must_exist=True)
    if current_revision(engine) is None:
        raise UserError("the warehouse is empty or not migrated; run `channelwatch db upgrade`")
    counts = erase_author(
        engine,
        args.platform,
        author,
        actor=args.by or getpass.getuser(),
        reason=args.reason.strip(),
        author_ref=pseudonymiser(settings),
    )
    print(json.dumps(counts, sort_keys=True))
    return 0
