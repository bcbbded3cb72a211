"""Credentials come from Airflow connections, never from the configuration file.

`get_credentials(conn_id)` reads AIRFLOW_CONN_<CONN_ID> from the environment (JSON or URI
form, as Airflow accepts them) and otherwise asks Airflow itself (a secrets backend or the
metadata database) when Airflow is installed. Every secret found is registered with
Airflow's secret masker so that task logs show *** instead.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from channelwatch.errors import CredentialsError


@dataclasses.dataclass(frozen=True)
class Credentials:
    """An account's credentials. `token` is the access or bearer token."""

    conn_id: str
    token: str
    login: str = ""
    host: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)

    def __repr__(self) -> str:  # never print the token
        return f"Credentials(conn_id={self.conn_id!r}, token='***')"


def env_var_name(conn_id: str) -> str:
    return "AIRFLOW_CONN_" + conn_id.upper().replace("-", "_").replace(".", "_")


def _from_json(conn_id: str, raw: str) -> Credentials:
    data = json.loads(raw)
    extra = data.get("extra") or {}
    if isinstance(extra, str):
        extra = json.loads(extra) if extra.strip() else {}
    token = data.get("password") or extra.get("access_token") or extra.get("token") or ""
    return Credentials(conn_id, token, data.get("login") or "", data.get("host") or "", extra)


def _from_uri(conn_id: str, raw: str) -> Credentials:
    parts = urlsplit(raw)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    token = unquote(parts.password or "") or extra.get("access_token") or extra.get("token") or ""
    return Credentials(conn_id, token, unquote(parts.username or ""), parts.hostname or "", extra)


def _from_airflow(conn_id: str) -> Credentials | None:
    try:
        from airflow.sdk import BaseHook  # noqa: PLC0415 - Airflow is optional here
    except ImportError:
        return None
    try:
        conn = BaseHook.get_connection(conn_id)
    except Exception:  # noqa: BLE001 - any lookup failure means "not defined"
        return None
    extra = conn.extra_dejson or {}
    token = conn.password or extra.get("access_token") or extra.get("token") or ""
    return Credentials(conn_id, token, conn.login or "", conn.host or "", extra)


def mask(value: str) -> None:
    """Register a secret with Airflow's masker, when Airflow is importable."""
    if not value:
        return
    try:
        from airflow.sdk.log import mask_secret  # noqa: PLC0415
    except ImportError:
        return
    mask_secret(value)


def get_credentials(conn_id: str, platform: str = "") -> Credentials:
    """The credentials of an Airflow connection.

    Raises:
        CredentialsError: when the connection is missing or holds no token.
    """
    raw = os.environ.get(env_var_name(conn_id))
    creds = None
    if raw:
        try:
            creds = _from_json(conn_id, raw) if raw.lstrip().startswith("{") else _from_uri(conn_id, raw)
        except (ValueError, TypeError):
            raise CredentialsError(
                f"Airflow connection '{conn_id}' ({env_var_name(conn_id)}) cannot be parsed") from None
    if creds is None:
        creds = _from_airflow(conn_id)
    label = f"{platform}: " if platform else ""
    if creds is None:
        raise CredentialsError(f"{label}Airflow connection '{conn_id}' is not defined "
                               f"(set {env_var_name(conn_id)} or add it in Airflow)")
    if not creds.token:
        raise CredentialsError(f"{label}Airflow connection '{conn_id}' has no token "
                               "(put it in the password field or extra.access_token)")
    mask(creds.token)
    for key in ("app_secret", "client_secret", "api_key_secret"):
        mask(str(creds.extra.get(key, "")))
    return creds
