"""Email: the daily report to its recipients, and immediate safeguarding alerts.

Mail goes through the SMTP connection ``report.smtp_conn_id`` (channelwatch.mail): with
smtplib in the core, or with Airflow's SmtpHook where the Airflow adapter registered it
(every task body, and the command line where Airflow is installed). Connection fields:
host, port, login/password (optional), and in extra ``disable_tls`` / ``disable_ssl``
(true for a plain local relay), ``timeout``. The From address is ``report.sender``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, and_, exists, select, update

from channelwatch import mail
from channelwatch.findings import ACTIVE, SYSTEM_ACTOR, record_event
from channelwatch.report.build import ReportPaths, environment, finding_view
from channelwatch.report.data import PLATFORM_NAMES, Window, channel_list
from channelwatch.warehouse.schema import finding_events, findings, items, reports
from kernel.config import Settings
from kernel.errors import UserError

__all__ = ["send_email", "send_report", "send_safeguarding_alerts", "report_subject"]


def send_email(
    settings: Settings, to: Sequence[str], subject: str, html: str, files: Sequence[str | Path] = ()
) -> None:
    """Send one HTML email with attachments through the SMTP connection of the settings
    (channelwatch.mail).

    Raises:
        UserError: the connection is not defined, the server cannot be reached, or it
            refuses the message; one line naming the connection.
    """
    mail.send(settings.report.smtp_conn_id, settings.report.sender, to, subject, html, files)


def report_subject(settings: Settings, report_date: date, summary: dict[str, Any]) -> str:
    """E.g. "Bracknell Forest Council social media report, Mon 24 Nov 2026: 1 safeguarding,
    2 FOI, 5 overdue unanswered"."""
    first = summary.get("do_first", {})
    parts = []
    for key, label in (
        ("safeguarding", "safeguarding"),
        ("foi", "FOI"),
        ("overdue_unanswered", "overdue unanswered"),
        ("advertising_political", "advertising/political"),
    ):
        n = (first.get(key) or {}).get("total", 0)
        if n:
            parts.append(f"{n} {label}")
    tail = ", ".join(parts) if parts else "nothing urgent"
    return (
        f"{settings.council} social media report, {report_date:%a} {report_date.day} "
        f"{report_date:%b %Y}: {tail}"
    )


def send_report(
    settings: Settings,
    engine: Engine,
    report_date: date,
    *,
    paths: ReportPaths | None = None,
    force: bool = True,
    now: datetime | None = None,
) -> list[str]:
    """Email the day's report (HTML as the body, findings.csv attached) to report.recipients
    and record the delivery in ``reports``.

    Args:
        paths: the files `build_report` wrote; default: those recorded for the day.
        force: send even if the day's report was already delivered (False: a retried
            pipeline task does not send it twice).

    Returns:
        The addresses it was sent to ([] when skipped because already delivered).

    Raises:
        UserError: no recipients, no report rendered for the day, or the mail failed.
    """
    recipients = list(settings.report.recipients)
    if not recipients:
        raise UserError("report.recipients is empty: nobody to send the report to")
    key = report_date.isoformat()
    with engine.connect() as conn:
        row = conn.execute(select(reports).where(reports.c.report_date == key)).first()
    if row is None:
        raise UserError(
            f"no report has been rendered for {key}; run `channelwatch report --date {key}` first"
        )
    if row.delivered_at is not None and not force:
        return []
    if paths is None:
        paths = ReportPaths(Path(row.html_path), Path(row.csv_path), Path(row.json_path))
    try:
        html = Path(paths.html).read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read the report {paths.html}: {exc.strerror}") from None
    send_email(
        settings,
        recipients,
        report_subject(settings, report_date, row.summary or {}),
        html,
        [paths.csv],
    )
    with engine.begin() as conn:
        conn.execute(
            update(reports)
            .where(reports.c.report_date == key)
            .values(
                delivered_at=now or datetime.now(timezone.utc), delivered_to=", ".join(recipients)
            )
        )
    return recipients


def _alert_subject(view: dict[str, Any]) -> str:
    # No public text in the subject: subjects are shown in notifications and lists.
    return f"SAFEGUARDING concern on {view['channel_label']}: act now ({view['short_id']})"


def send_safeguarding_alerts(
    settings: Settings, engine: Engine, *, now: datetime | None = None
) -> list[str]:
    """Email each active safeguarding finding not yet alerted, one message per finding, to
    report.safeguarding_recipients (or report.recipients when that is empty), and record
    an ``alerted`` finding event so it is never sent twice.

    Returns:
        The ids of the findings alerted.

    Raises:
        UserError: there are concerns to alert but no recipient is configured, or the mail
            failed (concerns alerted before the failure stay recorded).
    """
    now = now or datetime.now(timezone.utc)
    already = exists().where(
        finding_events.c.finding_id == findings.c.finding_id, finding_events.c.action == "alerted"
    )
    query = (
        select(
            findings,
            items.c.account_id,
            items.c.kind,
            items.c.is_own,
            items.c.author_name,
            items.c.created_at.label("item_created_at"),
            items.c.text.label("item_text"),
            items.c.url.label("item_url"),
            items.c.deleted_at.label("item_deleted_at"),
            items.c.redacted_at.label("item_redacted_at"),
        )
        .select_from(
            findings.outerjoin(
                items,
                and_(
                    items.c.platform == findings.c.platform, items.c.item_id == findings.c.item_id
                ),
            )
        )
        .where(findings.c.category == "safeguarding", findings.c.status.in_(ACTIVE), ~already)
        .order_by(findings.c.detected_at, findings.c.finding_id)
    )
    with engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        channels = {ch["key"]: ch for ch in channel_list(conn, settings)} if rows else {}
    if not rows:
        return []
    recipients = list(settings.report.safeguarding_recipients or settings.report.recipients)
    if not recipients:
        raise UserError(
            f"{len(rows)} safeguarding concern(s) to alert but neither "
            "report.safeguarding_recipients nor report.recipients is configured"
        )
    zone = settings.business_hours.timezone
    w = Window.for_day(now.astimezone(settings.business_hours.zone).date(), zone, now)
    template = environment().get_template("safeguarding_alert.html.j2")
    sent = []
    for row in rows:
        row["status_then"] = row["status"]
        view = finding_view(row, w, channels)
        html = template.render(
            f=view,
            council=settings.council,
            kind=row.get("kind") or "item",
            platform=PLATFORM_NAMES.get(row["platform"], row["platform"]),
        )
        send_email(settings, recipients, _alert_subject(view), html)
        with engine.begin() as conn:
            record_event(
                conn,
                row["finding_id"],
                at=now,
                actor=SYSTEM_ACTOR,
                action="alerted",
                from_status=row["status"],
                to_status=row["status"],
                reason=f"emailed to {', '.join(recipients)}",
            )
        sent.append(row["finding_id"])
    return sent
