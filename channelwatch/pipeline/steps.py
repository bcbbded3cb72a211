"""The steps after ingestion: the derived tables, the checks and the findings' lifecycle,
the safeguarding alerts, the report.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine

from channelwatch.pipeline.scope import scope_items
from kernel.config import Settings
from kernel.items import Item

log = logging.getLogger(__name__)


def refresh(settings: Settings, engine: Engine, now: datetime) -> dict[str, int]:
    """Rebuild the derived tables the analyst views read (idempotent)."""
    from channelwatch.warehouse.derive import refresh_derived

    return refresh_derived(settings, engine, now)


# -- checks, findings, alerts, report ---------------------------------------------------------


def check(
    settings: Settings, engine: Engine, as_of: datetime, *, scope: list[Item] | None = None
) -> dict[str, Any]:
    """Run the checks as of ``as_of`` and update the findings' lifecycle.

    Returns:
        Figures: items checked, findings fired, the lifecycle counts.
    """
    from channelwatch.findings import sync_findings
    from checks import run_checks

    scope = scope_items(settings, engine, as_of) if scope is None else scope
    found = run_checks(scope, settings, as_of)
    result = sync_findings(
        engine, found, now=as_of, scope=scope, tz=settings.business_hours.timezone
    )
    return {
        "as_of": as_of.isoformat(),
        "items": len(scope),
        "findings": len(found),
        **result.as_dict(),
    }


def alert(settings: Settings, engine: Engine, now: datetime | None = None) -> list[str]:
    """Email every active safeguarding finding not alerted yet (channelwatch.delivery).

    With neither report.safeguarding_recipients nor report.recipients configured, email is
    off: a warning is logged and the report is where the concerns show.

    Returns:
        The ids of the findings alerted.

    Raises:
        UserError: the mail failed (the task fails loudly and is retried).
    """
    if not (settings.report.safeguarding_recipients or settings.report.recipients):
        log.warning("no report recipients configured: safeguarding concerns are not emailed")
        return []
    from channelwatch.delivery import send_safeguarding_alerts

    return list(send_safeguarding_alerts(settings, engine, now=now))


def report(
    settings: Settings,
    engine: Engine,
    report_date: date,
    *,
    now: datetime | None = None,
    deliver: bool = False,
) -> dict[str, Any]:
    """Render the report of ``report_date`` as of ``now``; email it when asked.

    The report is delivered once per day (a retried or re-run task does not send it
    again), and only when report.recipients is configured.

    Returns:
        {"html": path, "csv": path, "json": path, "delivered_to": [addresses]}.
    """
    from channelwatch.report import build_report

    paths = build_report(settings, engine, report_date, now=now)
    sent: list[str] = []
    if deliver and settings.report.recipients:
        from channelwatch.delivery import send_report

        sent = list(send_report(settings, engine, report_date, paths=paths, force=False))
    return {
        "html": str(paths.html),
        "csv": str(paths.csv),
        "json": str(paths.json),
        "delivered_to": sent,
    }
