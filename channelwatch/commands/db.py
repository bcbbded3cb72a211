"""`channelwatch db upgrade|current`: warehouse migrations and analyst views."""

from __future__ import annotations

import argparse

from sqlalchemy.exc import OperationalError

from channelwatch.commands.common import add_config_option, progress, settings_from_args
from kernel.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "db",
        help="migrate the warehouse",
        description="Create or migrate the warehouse schema (Alembic) and "
        "recreate the analyst views in sql/views/.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True
    up = verbs.add_parser("upgrade", help="migrate to the latest schema and recreate the views")
    cur = verbs.add_parser("current", help="print the warehouse's schema revision")
    for p in (up, cur):
        add_config_option(p)
        p.add_argument(
            "--url",
            help="warehouse URL (default: WAREHOUSE_URL, the config file, "
            "then sqlite:///var/warehouse.db)",
        )
    up.set_defaults(func=_upgrade)
    cur.set_defaults(func=_current)


def _engine(args):
    from channelwatch.warehouse import make_engine

    settings = settings_from_args(args)  # validated even when --url is given
    url = args.url or settings.resolved_warehouse_url()
    return url, make_engine(url)


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(unparseable URL)"


def _upgrade(args: argparse.Namespace) -> int:
    from channelwatch.warehouse.migrate import current_revision, head_revision, upgrade

    url, engine = _engine(args)
    try:
        before = current_revision(engine)
        progress(f"migrating {_redact(url)} from {before or 'empty'} to {head_revision()}")
        upgrade(engine)
    except OperationalError as exc:
        raise UserError(
            f"cannot reach the warehouse {_redact(url)}: {str(exc.orig).splitlines()[0]}"
        ) from None
    print(f"warehouse at revision {current_revision(engine)}")
    return 0


def _current(args: argparse.Namespace) -> int:
    from channelwatch.warehouse.migrate import current_revision

    url, engine = _engine(args)
    try:
        print(current_revision(engine) or "empty")
    except OperationalError as exc:
        raise UserError(
            f"cannot reach the warehouse {_redact(url)}: {str(exc.orig).splitlines()[0]}"
        ) from None
    return 0
