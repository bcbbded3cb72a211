"""`channelwatch report --date D [--send]`: render any day's report from the warehouse."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timezone

from channelwatch.commands.common import add_config_option, progress, settings_from_args
from kernel.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report",
        help="render a day's report (HTML, CSV, JSON) from the warehouse",
        description="Render the daily compliance report of any day from the warehouse: "
        "report.html (self-contained), findings.csv and summary.json under "
        "report.out_dir/DATE/. A past day renders as it stood at the end of that "
        "day; today renders as of now. Prints the HTML file's path.",
    )
    parser.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the council-local day (default: today)"
    )
    parser.add_argument(
        "--send",
        action="store_true",
        help="also email it to report.recipients (the CSV attached) through "
        "the Airflow SMTP connection report.smtp_conn_id",
    )
    add_config_option(parser)
    parser.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> int:
    from channelwatch.report import build_report
    from channelwatch.warehouse import make_engine
    from channelwatch.warehouse.migrate import current_revision

    settings = settings_from_args(args)
    now = datetime.now(timezone.utc)
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            raise UserError(f"--date {args.date!r} is not a date (YYYY-MM-DD)") from None
    else:
        day = now.astimezone(settings.business_hours.zone).date()
    engine = make_engine(settings.resolved_warehouse_url(), must_exist=True)
    try:
        revision = current_revision(engine)
    except Exception as exc:  # noqa: BLE001
        raise UserError(f"cannot reach the warehouse: {str(exc).splitlines()[0]}") from None
    if revision is None:
        raise UserError("the warehouse is empty or not migrated; run `channelwatch db upgrade`")
    paths = build_report(settings, engine, day, now=now)
    if args.send:
        from channelwatch.delivery import send_report

        sent_to = send_report(settings, engine, day, paths=paths)
        progress(f"sent to {', '.join(sent_to)}")
    print(paths.html)
    return 0
