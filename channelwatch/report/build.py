"""Render the day's report: report.html, findings.csv and summary.json, and record it."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
import re
import uuid
from datetime import date, datetime, timezone
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy import Engine, select, update

from channelwatch.findings import ACTIVE, CATEGORIES
from channelwatch.report import charts
from channelwatch.report import data as d
from channelwatch.warehouse.schema import reports
from kernel.config import Settings
from kernel.errors import UserError

TEMPLATES = Path(__file__).with_name("templates")
CATEGORY_COLOURS = {
    "safeguarding": "#b91c1c",
    "foi_request": "#7c3aed",
    "unanswered": "#d97706",
    "third_party_advertising": "#0369a1",
    "off_brand": "#be185d",
    "moderation": "#4b5563",
    "pipeline": "#0f766e",
}
SEVERITY_COLOURS = {"high": "#b91c1c", "medium": "#b45309", "low": "#6b7280"}
PLATFORM_COLOURS = {
    "facebook": "#1877f2",
    "instagram": "#c13584",
    "youtube": "#cc0000",
    "twitter": "#111827",
}
EXTRA_COLOURS = ("#059669", "#9333ea", "#ea580c", "#0891b2", "#65a30d", "#db2777")
TEXT_BEFORE, TEXT_AFTER, TEXT_MAX = 240, 360, 700
CSV_COLUMNS = (
    "finding_id",
    "status",
    "new_today",
    "category",
    "rule",
    "severity",
    "route",
    "who_must_act",
    "platform",
    "account_id",
    "channel",
    "item_id",
    "item_url",
    "item_created_at",
    "detected_at",
    "due_at",
    "overdue",
    "evidence",
    "item_text",
)


@dataclasses.dataclass(frozen=True, slots=True)
class ReportPaths:
    """Where one day's report was written."""

    html: Path
    csv: Path
    json: Path


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment: autoescaping on for every template, strict undefined."""
    return Environment(
        loader=FileSystemLoader(str(TEMPLATES)),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )


# --- formatting ------------------------------------------------------------------------


def _when(value: datetime | None, w: d.Window, with_day: bool = True) -> str:
    if value is None:
        return "—"
    local = w.local(value)
    if with_day:
        return f"{local:%a} {local.day} {local:%b} {local:%H:%M}"
    return f"{local:%H:%M}"


def _span(seconds: float) -> str:
    seconds = abs(seconds)
    days, rest = divmod(int(seconds), 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes and hours < 6 else "")
    return f"{max(minutes, 1)} min"


def safe_url(url: str | None) -> str | None:
    """Only http(s) links: a javascript: or data: URL in a platform field is never a link."""
    if not url:
        return None
    candidate = url.strip()
    lower = candidate.lower()
    if lower.startswith(("https://", "http://")) and not any(c in candidate for c in "\r\n\t "):
        return candidate
    return None


def highlight(text: str | None, start: int | None, end: int | None) -> tuple[str, str, str]:
    """Split the original text around the evidence span (code points), shortening long
    text around it. The pieces are escaped by the template, never here."""
    text = text or ""
    if start is not None and end is not None and 0 <= start < end <= len(text):
        before, match, after = text[:start], text[start:end], text[end:]
    else:
        before, match, after = text, "", ""
    if match:
        if len(before) > TEXT_BEFORE:
            before = "…" + before[-TEXT_BEFORE:]
        if len(after) > TEXT_AFTER:
            after = after[:TEXT_AFTER] + "…"
    elif len(before) > TEXT_MAX:
        before = before[:TEXT_MAX] + "…"
    return before, match, after


def _channel_label(row: dict[str, Any], channels: dict[str, dict[str, Any]]) -> str:
    ch = channels.get(f"{row['platform']}:{row.get('account_id')}")
    if ch:
        return ch["label"]
    return d.PLATFORM_NAMES.get(row["platform"], row["platform"])


# Characters that would act on the page instead of showing: bidi overrides, embeddings and
# isolates (a comment with U+202E reverses what follows it) and control characters. Public
# text is shown with each as U+FFFD, one for one; the warehouse and the CSV keep the text
# exactly as received.
_ACTING = re.compile(
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def shown(text: str | None) -> str | None:
    """Public text as the report shows it: see _ACTING."""
    return _ACTING.sub("\ufffd", text) if text else text


def finding_view(row: dict[str, Any], w: d.Window, channels: dict[str, dict[str, Any]]) -> dict:
    """What the template shows for one finding."""
    before, match, after = (
        shown(piece)
        for piece in highlight(
            row.get("item_text"), row.get("evidence_start"), row.get("evidence_end")
        )
    )
    note = ""
    if row.get("item_text") is None:
        note = "(the item is no longer in the warehouse)"
    elif row.get("item_redacted_at") is not None:
        note = "(text removed under the retention policy)"
    elif row.get("item_deleted_at") is not None:
        note = " (deleted on the platform)"
    due_at = row.get("due_at")
    if due_at is None:
        due_label, due_state = "no deadline", "none"
    else:
        delta = (due_at - w.as_of).total_seconds()
        if row["category"] == "safeguarding":
            due_label = f"at once (raised {_when(row['detected_at'], w)})"
            due_state = "overdue"
        elif delta < 0:
            due_label, due_state = f"{_when(due_at, w)} — overdue by {_span(delta)}", "overdue"
        elif delta < 86400:
            due_label, due_state = f"{_when(due_at, w)} — in {_span(delta)}", "soon"
        else:
            due_label, due_state = f"{_when(due_at, w)} — in {_span(delta)}", "ok"
    detected = row["detected_at"]
    return {
        "id": row["finding_id"],
        "short_id": row["finding_id"][:10],
        "category": row["category"],
        "rule": row["rule"],
        "severity": row["severity"],
        "severity_colour": SEVERITY_COLOURS.get(row["severity"], "#6b7280"),
        "colour": CATEGORY_COLOURS.get(row["category"], "#6b7280"),
        "route_name": d.ROUTE_NAMES.get(row["route"], row["route"]),
        "status": row["status_then"],
        "is_new": detected >= w.day_start,
        "since_label": f"{w.local(detected).day} {w.local(detected):%b}",
        "channel_label": _channel_label(row, channels),
        "author": shown(row.get("author_name")) if row.get("is_own") is False else None,
        "item_created_label": _when(row.get("item_created_at"), w),
        "text_before": before,
        "text_match": match,
        "text_after": after,
        "text_note": note,
        "evidence": shown(row.get("evidence")) or "",
        "url": safe_url(row.get("item_url")),
        "due_label": due_label,
        "due_state": due_state,
    }


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _hours(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f} h"


# --- the model -------------------------------------------------------------------------


def collect(settings: Settings, engine: Engine, w: d.Window, generated_at: datetime) -> dict:
    """Read everything the report shows; returns the template's model (JSON-ready parts
    are under ``summary``)."""
    target = settings.business_hours.response_target_hours
    with engine.connect() as conn:
        channels = d.channel_list(conn, settings)
        per_channel = d.items_per_channel(conn, w)
        resp, trend_r = d.response_times(conn, w, target)
        fthen = d.findings_then(w)
        counts = d.counts_by_category(conn, w, fthen)
        sections_raw = []
        for key, title, why, cond in d.do_first_sections(w, fthen):
            sections_raw.append((key, title, why, *d.section_rows(conn, w, fthen, cond)))
        other_total, other_new, other_rows = d.section_rows(
            conn, w, fthen, d.other_open_condition(w, fthen)
        )
        csv_rows = d.all_rows(conn, w, fthen)
        trend_f = d.trend_findings(conn, w)
        health = d.pipeline_health(conn, w, settings, channels)

    by_key = {ch["key"]: ch for ch in channels}
    extra = iter(EXTRA_COLOURS * 4)
    used_platform_colour: set[str] = set()
    for ch in channels:
        colour = PLATFORM_COLOURS.get(ch["platform"])
        ch["colour"] = (
            colour if colour and ch["platform"] not in used_platform_colour else next(extra)
        )
        used_platform_colour.add(ch["platform"])
        ch["counts"] = per_channel.get(
            ch["key"], {"public": 0, "council": 0, "ingested": 0, "fetched": 0}
        )
        r = resp.get(
            ch["key"],
            {
                "needing_reply": 0,
                "replied": 0,
                "replied_within_target": 0,
                "reply_rate": None,
                "within_target_rate": None,
                "median_hours": None,
                "p90_hours": None,
            },
        )
        ch["resp"] = {
            **r,
            "reply_rate_label": _pct(r["reply_rate"]),
            "within_label": _pct(r["within_target_rate"]),
            "median_label": _hours(r["median_hours"]),
            "p90_label": _hours(r["p90_hours"]),
            "median_over": r["median_hours"] is not None and r["median_hours"] > target,
            "p90_over": r["p90_hours"] is not None and r["p90_hours"] > target,
        }
    # Channels with no configuration, no items and no responses add nothing to the table.
    shown = [
        ch for ch in channels if ch["configured"] or ch["key"] in per_channel or ch["key"] in resp
    ]

    categories = [
        {
            "key": c,
            "name": d.CATEGORY_NAMES.get(c, c),
            "colour": CATEGORY_COLOURS.get(c, "#6b7280"),
            **counts.get(c, {}),
        }
        for c in list(CATEGORIES) + [c for c in counts if c not in CATEGORIES]
    ]
    totals = {
        k: sum(c[k] for c in categories)
        for k in ("new", "open", "overdue", "carried_over", "closed")
    }
    sections = []
    for key, title, why, total, new, rows in sections_raw:
        views = [finding_view(r, w, by_key) for r in rows]
        sections.append(
            {
                "key": key,
                "title": title,
                "why": why,
                "total": total,
                "new": new,
                "rows": views,
                "more": max(total - len(views), 0),
            }
        )
    other_views = [finding_view(r, w, by_key) for r in other_rows]

    labels = {c["key"]: c["name"] for c in categories}
    findings_svg = charts.stacked_bars(
        w.trend_days,
        {c["key"]: trend_f.get(c["key"], [0] * len(w.trend_days)) for c in categories},
        labels,
        CATEGORY_COLOURS,
        f"Findings detected per day, by category, "
        f"{w.trend_days[0]:%d %b} to {w.trend_days[-1]:%d %b %Y}",
    )
    ch_labels = {ch["key"]: ch["label"] for ch in shown}
    ch_colours = {ch["key"]: ch["colour"] for ch in shown}
    response_series = {
        ch["key"]: trend_r.get(ch["key"], [None] * len(w.trend_days)) for ch in shown
    }
    response_svg = charts.lines(
        w.trend_days,
        response_series,
        ch_labels,
        ch_colours,
        "Median first-response time per channel, business hours",
        target=target,
    )
    f_total = sum(sum(v) for v in trend_f.values())
    busiest = (
        max(range(len(w.trend_days)), key=lambda i: sum(v[i] for v in trend_f.values()))
        if f_total
        else None
    )
    findings_note = (
        f"{f_total} findings in {len(w.trend_days)} days"
        + (
            f"; busiest day {w.trend_days[busiest]:%a %d %b} "
            f"({sum(v[busiest] for v in trend_f.values())})"
            if busiest is not None
            else ""
        )
        + "."
    )
    response_note = (
        "Each point is the median over the public items created that day that "
        "have been answered; the dashed line is the target. Recent days include "
        "only the items answered so far."
    )

    for a in health["accounts"]:
        a["last_success_label"] = (
            _when(a["last_success_at"], w) if a["last_success_at"] else "never"
        )
        a["quota_label"] = _pct(a["quota_share"])
    for r in health["failed_runs"]:
        r["label"] = _channel_label(r, by_key)
        r["started_label"] = _when(r["started_at"], w)
        r["error_line"] = (
            (r.get("error") or "").strip().splitlines()[0][:300] if r.get("error") else ""
        )
    for q in health["quarantined"]:
        q["label"] = _channel_label(q, by_key)
        q["quarantined_label"] = _when(q["quarantined_at"], w)
        q["released_label"] = _when(q["released_at"], w) if q["released_at"] else "held"
        fe = q.get("failed_expectations")
        q["expectations"] = (
            ", ".join(map(str, fe))
            if isinstance(fe, list)
            else ", ".join(map(str, fe))
            if isinstance(fe, dict)
            else str(fe or "")
        )
    health["gap_hours"] = f"{settings.monitoring.gap_hours:g}"

    bh = settings.business_hours
    local_as_of = w.local(w.as_of)
    rd = w.report_date
    model = {
        "council": settings.council,
        "date_label": f"{rd:%A} {rd.day} {rd:%B %Y}",
        "as_of_label": f"{local_as_of:%H:%M} on {local_as_of:%a} {local_as_of.day} {local_as_of:%b %Y}",
        "partial_day": w.as_of < w.day_end,
        "timezone": bh.timezone,
        "generated_label": _when(generated_at, w),
        "business_hours_label": f"{'–'.join([bh.days[0].title(), bh.days[-1].title()])} "
        f"{bh.start:%H:%M}–{bh.end:%H:%M}, bank holidays excluded",
        "target_hours": f"{target:g}",
        "trend_days": len(w.trend_days),
        "categories": categories,
        "totals": totals,
        "channels": shown,
        "sections": sections,
        "other": {
            "total": other_total,
            "new": other_new,
            "rows": other_views,
            "more": max(other_total - len(other_views), 0),
        },
        "charts": {
            "findings": findings_svg,
            "response": response_svg,
            "findings_note": findings_note,
            "response_note": response_note,
        },
        "health": health,
    }
    model["summary"] = _summary(
        settings,
        w,
        generated_at,
        shown,
        categories,
        totals,
        sections,
        other_total,
        trend_f,
        response_series,
        health,
    )
    model["csv_rows"] = csv_rows
    model["by_key"] = by_key
    return model


def _iso(value: datetime | None, w: d.Window | None = None) -> str | None:
    if value is None:
        return None
    return (w.local(value) if w else value.astimezone(timezone.utc)).isoformat()


def _summary(
    settings,
    w,
    generated_at,
    channels,
    categories,
    totals,
    sections,
    other_total,
    trend_f,
    response_series,
    health,
) -> dict[str, Any]:
    return {
        "council": settings.council,
        "report_date": w.report_date.isoformat(),
        "as_of": _iso(w.as_of, w),
        "generated_at": _iso(generated_at, w),
        "timezone": settings.business_hours.timezone,
        "response_target_business_hours": settings.business_hours.response_target_hours,
        "totals": totals,
        "findings_by_category": {
            c["key"]: {k: c[k] for k in ("new", "open", "overdue", "carried_over", "closed")}
            for c in categories
        },
        "do_first": {s["key"]: {"total": s["total"], "new": s["new"]} for s in sections},
        "other_open": other_total,
        "channels": [
            {
                "platform": ch["platform"],
                "account_id": ch["account_id"],
                "name": ch["name"],
                "items_today": ch["counts"],
                "responsiveness": {
                    k: ch["resp"][k]
                    for k in (
                        "needing_reply",
                        "replied",
                        "replied_within_target",
                        "reply_rate",
                        "within_target_rate",
                        "median_hours",
                        "p90_hours",
                    )
                },
            }
            for ch in channels
        ],
        "trends": {
            "days": [day.isoformat() for day in w.trend_days],
            "findings_per_category": trend_f,
            "median_first_response_hours": response_series,
        },
        "pipeline": {
            "not_ingested": [a["key"] for a in health["not_ingested"]],
            "failed_runs": len(health["failed_runs"]),
            "quarantined_today": health["quarantined_today"],
            "quarantined_unreleased": health["quarantined_unreleased"],
            "quarantined_items_held": health["quarantined_items_held"],
            "api_calls": health["api_calls"],
            "quota_units": health["quota_units"],
            "accounts": [
                {
                    "platform": a["platform"],
                    "account_id": a["account_id"],
                    "last_success_at": _iso(a["last_success_at"], w),
                    "runs": a["runs"],
                    "failed": a["failed"],
                    "api_calls": a["api_calls"],
                    "quota_units": a["quota_units"],
                    "daily_quota": a["daily_quota"],
                }
                for a in health["accounts"]
            ],
        },
    }


# --- files -----------------------------------------------------------------------------

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """A CSV cell that a spreadsheet will not run as a formula (OWASP CSV injection)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_csv(rows: list[dict[str, Any]], w: d.Window, channels: dict, out: io.TextIOBase) -> None:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for r in rows:
        due = r.get("due_at")
        active = r["status_then"] in ACTIVE
        writer.writerow(
            [
                csv_cell(v)
                for v in (
                    r["finding_id"],
                    r["status_then"],
                    "yes" if r["detected_at"] >= w.day_start else "no",
                    r["category"],
                    r["rule"],
                    r["severity"],
                    r["route"],
                    d.ROUTE_NAMES.get(r["route"], r["route"]),
                    r["platform"],
                    r.get("account_id") or "",
                    _channel_label(r, channels),
                    r["item_id"],
                    r.get("item_url") or "",
                    _iso(r.get("item_created_at"), w) or "",
                    _iso(r["detected_at"], w),
                    _iso(due, w) or "",
                    "yes" if active and due is not None and due < w.as_of else "no",
                    r.get("evidence") or "",
                    r.get("item_text") or "",
                )
            ]
        )


def _atomic_write(path: Path, content: str) -> None:
    """Write beside the target and rename, so a reader never sees half a file (the mode
    follows the umask, as for any file the user writes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        with open(tmp, "x", encoding="utf-8", newline="") as fh:
            fh.write(content)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def render_html(model: dict[str, Any]) -> str:
    return environment().get_template("report.html.j2").render(**model)


def build_report(
    settings: Settings, engine: Engine, report_date: date, now: datetime | None = None
) -> ReportPaths:
    """Render one day's report from the warehouse and record it in ``reports``.

    Writes ``<report.out_dir>/<YYYY-MM-DD>/report.html`` (self-contained), ``findings.csv``
    (every finding active at the report's instant, or new or closed that day) and
    ``summary.json`` (the headline figures, trends and pipeline health).

    Args:
        settings: the configuration (time zone, target, accounts, out_dir).
        engine: the warehouse.
        report_date: the council-local day; any past day renders as it stood at its end.
        now: the current time (default: now); the report of today is as of `now`.

    Returns:
        The three paths (relative when report.out_dir is relative).

    Raises:
        UserError: the day is in the future.
    """
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone = settings.business_hours.zone
    today = now.astimezone(zone).date()
    if report_date > today:
        raise UserError(
            f"no report for {report_date.isoformat()}: it is in the future "
            f"(today is {today.isoformat()} in {settings.business_hours.timezone})"
        )
    w = d.Window.for_day(report_date, settings.business_hours.timezone, now)
    model = collect(settings, engine, w, now)
    folder = Path(settings.report.out_dir) / report_date.isoformat()
    paths = ReportPaths(folder / "report.html", folder / "findings.csv", folder / "summary.json")
    summary = model["summary"]
    summary["files"] = {"html": paths.html.name, "csv": paths.csv.name, "json": paths.json.name}
    _atomic_write(paths.html, render_html(model))
    buf = io.StringIO()
    write_csv(model["csv_rows"], w, model["by_key"], buf)
    _atomic_write(paths.csv, buf.getvalue())
    _atomic_write(paths.json, json.dumps(summary, indent=2, ensure_ascii=False, default=str) + "\n")
    _record(engine, report_date, now, paths, summary)
    return paths


def _record(
    engine: Engine, report_date: date, now: datetime, paths: ReportPaths, summary: dict[str, Any]
) -> None:
    values = {
        "generated_at": now,
        "html_path": str(paths.html.resolve()),
        "csv_path": str(paths.csv.resolve()),
        "json_path": str(paths.json.resolve()),
        "summary": json.loads(json.dumps(summary, default=str)),
    }
    key = report_date.isoformat()
    with engine.begin() as conn:
        exists = conn.execute(
            select(reports.c.report_date).where(reports.c.report_date == key)
        ).first()
        if exists:  # re-rendered: new files and figures; delivery is kept as it was
            conn.execute(update(reports).where(reports.c.report_date == key).values(**values))
        else:
            conn.execute(reports.insert().values(report_date=key, **values))
