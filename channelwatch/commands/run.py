"""`channelwatch run --date D`: one pipeline pass for a day, without Airflow."""

from __future__ import annotations

import argparse
from datetime import date, datetime, timezone

from channelwatch.commands.common import add_config_option, progress, settings_from_args
from kernel.errors import UserError


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run",
        help="one pipeline pass for a day, without Airflow",
        description="Ingest every configured account, validate, run the checks, update the "
        "findings and render the day's report — the same steps the DAGs run. "
        "Today runs live (the platforms as they are now, checked as of now). A "
        "past day is a backfill that runs the day as it stood then: ingestion "
        "asks the platforms for the look-back window ending at the end of that "
        "day (no watermark moves, nothing is marked deleted) and the checks and "
        "report are as of the end of that day. Prints the report's path last. "
        "Exits 1 if an account failed or a batch was quarantined (the report "
        "still shows it).",
    )
    parser.add_argument(
        "--date", metavar="YYYY-MM-DD", help="the council-local day (default: today)"
    )
    parser.add_argument(
        "--no-ingest",
        action="store_true",
        help="check and report from what the warehouse already holds",
    )
    parser.add_argument("--send", action="store_true", help="email the report to report.recipients")
    add_config_option(parser)
    parser.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import OperationalError

    from channelwatch import pipeline
    from channelwatch.warehouse import make_engine, upgrade

    settings = settings_from_args(args)
    now = datetime.now(timezone.utc)
    today = now.astimezone(settings.business_hours.zone).date()
    if args.date:
        try:
            day = date.fromisoformat(args.date)
        except ValueError:
            raise UserError(f"--date {args.date}: not a date (YYYY-MM-DD)") from None
    else:
        day = today
    if day > today:
        raise UserError(
            f"--date {day.isoformat()}: in the future (today is {today.isoformat()} "
            f"in {settings.business_hours.timezone})"
        )
    engine = make_engine(settings.resolved_warehouse_url())
    try:
        upgrade(engine)
    except OperationalError as exc:
        raise UserError(f"cannot reach the warehouse: {str(exc.orig).splitlines()[0]}") from None
    try:
        out = pipeline.run_day(
            settings,
            engine,
            day,
            progress=progress,
            deliver=args.send,
            ingest_accounts=not args.no_ingest,
        )
    finally:
        engine.dispose()
    check = out["check"]
    print(
        f"as of {out['as_of']}: {check['items']} items checked, {check['findings']} findings "
        f"({check['detected']} new, {check['resolved']} resolved)"
    )
    for failure in out["failed"]:
        print(f"FAILED: {failure}")
    for warning in out["warnings"]:
        print(warning.replace("warning: ", "WARNING: ", 1))
    for line in out["validate"]["summary"]:
        print(f"HELD BACK: {line}")
    if out["gaps"]["gaps"]:
        print("monitoring gaps: " + ", ".join(out["gaps"]["gaps"]))
    print(out["report"]["html"])
    return 1 if out["failed"] or out["validate"]["quarantined"] else 0
