"""Airflow connections as the core's credentials: a lookup that asks Airflow itself (a
secrets backend or the metadata database) for a connection not in the environment, and
Airflow's secret masker for every secret read. `install()` registers both with
channelwatch.secrets; every task body and the adapter's commands call it."""

from __future__ import annotations

from channelwatch import secrets
from channelwatch.secrets import Credentials


def airflow_lookup(conn_id: str) -> Credentials | None:
    """The connection from Airflow, or None when Airflow does not know it."""
    from airflow.sdk import BaseHook  # noqa: PLC0415 - only when a lookup happens

    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - any lookup failure means "not defined"
        return None
    extra = conn.extra_dejson or {}
    token = conn.password or extra.get("access_token") or extra.get("token") or ""
    return Credentials(
        conn_id, token, conn.login or "", conn.host or "", extra, int(conn.port or 0)
    )


def airflow_mask(value: str) -> None:
    """Register a secret with Airflow's masker: task logs show *** instead."""
    from airflow.sdk.log import mask_secret  # noqa: PLC0415

    mask_secret(value)


def install() -> None:
    """Let the core find connections in Airflow, hide what it reads from logs, and send
    mail through Airflow's SmtpHook."""
    from channelwatch import mail  # noqa: PLC0415
    from orchestration.mail import airflow_send  # noqa: PLC0415

    secrets.register(lookup=airflow_lookup, masker=airflow_mask)
    mail.register(airflow_send)
