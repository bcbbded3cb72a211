"""Mail through Airflow's SmtpHook, the way a deployment's Airflow sends it: registered
with channelwatch.mail by orchestration.credentials.install()."""

from __future__ import annotations

import smtplib
from collections.abc import Sequence
from pathlib import Path

from channelwatch.mail import not_defined
from kernel.errors import UserError


def airflow_send(
    conn_id: str,
    sender: str,
    to: Sequence[str],
    subject: str,
    html: str,
    files: Sequence[str | Path] = (),
) -> None:
    """Send one HTML email through the SMTP connection ``conn_id`` with SmtpHook.

    Raises:
        UserError: the connection is not defined, the server cannot be reached, or it
            refuses the message; one line naming the connection.
    """
    from airflow.providers.common.compat.sdk import AirflowException  # noqa: PLC0415
    from airflow.providers.smtp.hooks.smtp import SmtpHook  # noqa: PLC0415

    try:
        with SmtpHook(smtp_conn_id=conn_id) as hook:
            hook.send_email_smtp(
                to=list(to),
                subject=subject,
                html_content=html,
                from_email=sender,
                files=[str(f) for f in files],
            )
    except AirflowException as exc:
        if "not found" in str(exc).lower():
            raise not_defined(conn_id) from None
        raise UserError(f"email through {conn_id!r} failed: {str(exc).splitlines()[0]}") from None
    except (smtplib.SMTPException, OSError) as exc:
        raise UserError(f"email through {conn_id!r} failed: {exc}") from None
