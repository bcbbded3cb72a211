"""`channelwatch findings list|show|ack|resolve|dismiss|reopen`: the comms team's workflow.

Every action records a finding event with the person (--by, default $USER) and the reason;
the next report reflects it. The lifecycle is described in channelwatch/findings.py.
"""

from __future__ import annotations

import argparse
import csv
import getpass
import json
import re
import shutil
import sys
from datetime import date, datetime, timezone
from typing import Any

from channelwatch.commands.common import add_config_option, settings_from_args
from kernel.errors import UserError

STATUS_CHOICES = ("new", "open", "acknowledged", "resolved", "dismissed")
CATEGORY_CHOICES = (
    "safeguarding",
    "foi_request",
    "unanswered",
    "third_party_advertising",
    "off_brand",
    "moderation",
)
LIST_COLUMNS = (
    "finding_id",
    "status",
    "category",
    "rule",
    "severity",
    "route",
    "platform",
    "account_id",
    "item_id",
    "detected_at",
    "due_at",
    "evidence",
    "item_url",
    "item_text",
)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "findings",
        help="list, show and act on compliance findings",
        description="The comms team's workflow on findings: list and show them, then "
        "acknowledge, resolve, dismiss (with a reason) or reopen. Each action is "
        "recorded with the person and the reason, and the next report reflects it.",
    )
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    verbs.required = True

    ls = verbs.add_parser(
        "list",
        help="findings matching filters (default: the active ones)",
        description="List findings, most urgent first. Filters may be repeated or comma-separated.",
    )
    ls.add_argument(
        "--status",
        action="append",
        metavar="S",
        help="new, open, acknowledged, resolved, dismissed, active (the first "
        "three; the default) or all",
    )
    ls.add_argument(
        "--category", action="append", metavar="C", help=f"one of {', '.join(CATEGORY_CHOICES)}"
    )
    ls.add_argument(
        "--channel",
        "--platform",
        action="append",
        metavar="CH",
        dest="channel",
        help="a platform (facebook, instagram, youtube, twitter) or an account id",
    )
    ls.add_argument(
        "--rule",
        action="append",
        metavar="R",
        help="a rule or a rule prefix, e.g. off_brand.political or off_brand",
    )
    ls.add_argument("--severity", action="append", metavar="S", help="high, medium, low")
    ls.add_argument(
        "--route",
        action="append",
        metavar="R",
        help="comms, information_compliance, safeguarding_lead",
    )
    ls.add_argument(
        "--since",
        metavar="DATE",
        help="detected on or after this day "
        "(YYYY-MM-DD, council time) or instant (ISO 8601 with offset)",
    )
    ls.add_argument(
        "--until", metavar="DATE", help="detected on or before this day, or before this instant"
    )
    ls.add_argument("--overdue", action="store_true", help="only findings past their due time")
    ls.add_argument("--limit", type=int, metavar="N", help="at most N findings")
    ls.add_argument("--format", choices=("table", "json", "csv"), default="table")
    add_config_option(ls)
    ls.set_defaults(func=_list)

    show = verbs.add_parser("show", help="one finding with its item and its history")
    show.add_argument("id", help="finding id (or a unique prefix of 6+ characters)")
    show.add_argument("--format", choices=("table", "json"), default="table")
    add_config_option(show)
    show.set_defaults(func=_show)

    for verb, aliases, help_, reason_help in (
        ("ack", ["acknowledge"], "acknowledge: someone is dealing with it", "optional note"),
        ("resolve", [], "resolve: it has been dealt with", "what was done (recommended)"),
        (
            "dismiss",
            [],
            "dismiss: not a problem (a reason is required)",
            "why it is not a problem (required)",
        ),
        ("reopen", [], "reopen a resolved or dismissed finding", "why"),
    ):
        p = verbs.add_parser(
            verb,
            aliases=aliases,
            help=help_,
            description=help_.capitalize() + ". The change is recorded as a finding event.",
        )
        p.add_argument(
            "ids", nargs="+", metavar="ID", help="finding ids (or unique prefixes of 6+ characters)"
        )
        p.add_argument(
            "--by", metavar="PERSON", default=None, help="who is doing it (default: $USER)"
        )
        p.add_argument("--reason", default="", help=reason_help)
        p.add_argument("--format", choices=("table", "json"), default="table")
        add_config_option(p)
        p.set_defaults(func=_act, action="acknowledge" if verb == "ack" else verb)


# --- helpers ---------------------------------------------------------------------------


def _engine(args: argparse.Namespace):
    from channelwatch.warehouse import make_engine
    from channelwatch.warehouse.migrate import current_revision

    settings = settings_from_args(args)
    engine = make_engine(settings.resolved_warehouse_url(), must_exist=True)
    try:
        revision = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - an unreachable database is the user's to fix
        raise UserError(f"cannot reach the warehouse: {str(exc).splitlines()[0]}") from None
    if revision is None:
        raise UserError("the warehouse is empty or not migrated; run `channelwatch db upgrade`")
    return settings, engine


def _values(raw: list[str] | None, choices: tuple[str, ...] | None, what: str) -> list[str] | None:
    if not raw:
        return None
    out = [v.strip() for chunk in raw for v in chunk.split(",") if v.strip()]
    if choices:
        for v in out:
            if v not in choices:
                raise UserError(f"unknown {what} {v!r}; use one of {', '.join(choices)}")
    return out


def _instant(value: str | None, zone, *, end: bool) -> datetime | None:
    """A YYYY-MM-DD council-local day (its start; the next day's start for --until) or an
    ISO 8601 instant with an offset."""
    from channelwatch.findings import local_day_bounds
    from kernel.items import ItemError, parse_timestamp

    if value is None:
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            raise UserError(f"{value!r} is not a date (YYYY-MM-DD)") from None
        start, stop = local_day_bounds(day, zone)
        return stop if end else start
    try:
        return parse_timestamp(value, "--until" if end else "--since")
    except ItemError:
        raise UserError(
            f"{value!r} is not a date (YYYY-MM-DD) or an ISO 8601 instant with an offset"
        ) from None


def clean(text: Any, limit: int | None = None) -> str:
    """Public text made safe for a terminal: control and bidi characters shown as �."""
    out = _CONTROL.sub("\N{REPLACEMENT CHARACTER}", str(text if text is not None else ""))
    out = out.replace("\n", " ⏎ ")
    if limit and len(out) > limit:
        out = out[: limit - 1] + "…"
    return out


def _iso(value: Any, zone) -> str:
    if isinstance(value, datetime):
        return value.astimezone(zone).isoformat(timespec="minutes")
    return "" if value is None else str(value)


def _jsonable(row: dict[str, Any], zone) -> dict[str, Any]:
    out = {}
    for key, value in row.items():
        if isinstance(value, datetime):
            value = value.astimezone(zone).isoformat()
        elif isinstance(value, list):
            value = [_jsonable(v, zone) if isinstance(v, dict) else v for v in value]
        out[key] = value
    return out


def _table(rows: list[dict[str, Any]], zone, out=sys.stdout, width: int | None = None) -> None:
    """The findings as a table that fits the terminal (COLUMNS, else its real width):
    the evidence takes what the other columns leave, and on a narrow terminal the
    detection time, then the channel, are left out (`findings show` has them)."""
    width = width or shutil.get_terminal_size((100, 24)).columns
    headers = ["ID", "STATUS", "SEV", "RULE", "CHANNEL", "DETECTED", "DUE", "EVIDENCE"]
    body = [
        [
            r["finding_id"][:10],
            r["status"],
            r["severity"],
            r["rule"],
            f"{r['platform']}:{r.get('account_id') or ''}",
            _short(r["detected_at"], zone),
            _short(r.get("due_at"), zone),
            clean(r.get("evidence")),
        ]
        for r in rows
    ]

    def fixed() -> list[int]:
        return [max([len(h)] + [len(b[i]) for b in body]) for i, h in enumerate(headers[:-1])]

    for optional in ("DETECTED", "CHANNEL"):
        if sum(fixed()) + 2 * (len(headers) - 1) + 10 <= width:
            break
        i = headers.index(optional)
        del headers[i]
        for b in body:
            del b[i]
    widths = fixed()
    room = max(10, width - sum(widths) - 2 * (len(headers) - 1))
    for b in body:
        b[-1] = clean(b[-1], room)
    widths.append(max([len(headers[-1])] + [len(b[-1]) for b in body]))
    print("  ".join(h.ljust(widths[i]) for i, h in enumerate(headers)).rstrip(), file=out)
    for b in body:
        print("  ".join(str(v).ljust(widths[i]) for i, v in enumerate(b)).rstrip(), file=out)


def _short(value: datetime | None, zone) -> str:
    return "-" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


# --- verbs -----------------------------------------------------------------------------


def _list(args: argparse.Namespace) -> int:
    from channelwatch.findings import ACTIVE, list_findings
    from channelwatch.report.build import csv_cell

    settings, engine = _engine(args)
    zone = settings.business_hours.zone
    statuses = _values(args.status, STATUS_CHOICES + ("active", "all"), "status")
    if statuses is None or "active" in statuses:
        statuses = sorted(set(statuses or []) - {"active"} | set(ACTIVE))
    if "all" in statuses:
        statuses = None
    if args.limit is not None and args.limit < 1:
        raise UserError("--limit must be at least 1")
    since = _instant(args.since, zone, end=False)
    until = _instant(args.until, zone, end=True)
    if since and until and until <= since:
        raise UserError("--until is before --since")
    rows = list_findings(
        engine,
        statuses=statuses,
        categories=_values(args.category, CATEGORY_CHOICES, "category"),
        channels=_values(args.channel, None, "channel"),
        rules=_values(args.rule, None, "rule"),
        severities=_values(args.severity, ("high", "medium", "low"), "severity"),
        routes=_values(
            args.route, ("comms", "information_compliance", "safeguarding_lead"), "route"
        ),
        since=since,
        until=until,
        overdue_at=datetime.now(timezone.utc) if args.overdue else None,
        limit=args.limit,
    )
    if args.format == "json":
        json.dump(
            [_jsonable({k: r.get(k) for k in LIST_COLUMNS}, zone) for r in rows],
            sys.stdout,
            indent=2,
            ensure_ascii=False,
        )
        print()
    elif args.format == "csv":
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(LIST_COLUMNS)
        for r in rows:
            writer.writerow([csv_cell(_iso(r.get(k), zone)) for k in LIST_COLUMNS])
    else:
        if not rows:
            print("no findings match", file=sys.stderr)
            return 0
        _table(rows, zone)
        print(f"{len(rows)} finding{'s' if len(rows) != 1 else ''}", file=sys.stderr)
    return 0


def _print_finding(f: dict[str, Any], zone) -> None:
    print(f"finding   {f['finding_id']}")
    print(f"status    {f['status']} (since {_short(f['status_changed_at'], zone)})")
    print(f"rule      {f['rule']} ({f['category']}, {f['severity']})")
    print(f"route     {f['route']}")
    print(f"detected  {_short(f['detected_at'], zone)}")
    print(f"due       {_short(f.get('due_at'), zone)}")
    print(
        f"item      {f['platform']}:{f.get('account_id') or ''} {f['item_id']}"
        + (" (deleted)" if f.get("item_deleted_at") else "")
    )
    if f.get("item_url"):
        print(f"link      {clean(f['item_url'])}")
    print(f"evidence  {clean(f.get('evidence'))}")
    print(f"text      {clean(f.get('item_text'), 600)}")
    print("history")
    for e in f.get("events", []):
        move = f"{e['from_status'] or '-'} -> {e['to_status']}"
        reason = f": {clean(e['reason'], 200)}" if e.get("reason") else ""
        print(f"  {_short(e['at'], zone)}  {clean(e['actor'])}  {e['action']} ({move}){reason}")


def _show(args: argparse.Namespace) -> int:
    from channelwatch.findings import get_finding

    settings, engine = _engine(args)
    zone = settings.business_hours.zone
    f = get_finding(engine, args.id)
    if args.format == "json":
        json.dump(_jsonable(f, zone), sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        _print_finding(f, zone)
    return 0


def _act(args: argparse.Namespace) -> int:
    from channelwatch.findings import transition

    settings, engine = _engine(args)
    zone = settings.business_hours.zone
    actor = (args.by or getpass.getuser() or "").strip()
    done = []
    with engine.begin() as conn:  # all or nothing
        for fid in args.ids:
            done.append(transition(conn, fid, args.action, actor, args.reason))
    if args.format == "json":
        json.dump([_jsonable(f, zone) for f in done], sys.stdout, indent=2, ensure_ascii=False)
        print()
    else:
        for f in done:
            print(f"{f['finding_id'][:10]}  {f['status']}  {f['rule']}  by {clean(actor)}")
    return 0
