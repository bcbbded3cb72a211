"""Credentials come from Airflow connections, never from the configuration file.

`get_credentials(conn_id)` reads AIRFLOW_CONN_<CONN_ID> from the environment (JSON or URI
form, as Airflow accepts them), then asks each lookup registered with `register` — the
Airflow adapter (orchestration.credentials) registers one that asks Airflow itself (a
secrets backend or the metadata database) and a masker that registers every secret found
with Airflow's secret masker, so that task logs show *** instead. This module imports
nothing of Airflow: the core takes credentials as values.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from kernel.errors import CredentialsError


@dataclasses.dataclass(frozen=True)
class Credentials:
    """An account's credentials. `token` is the access or bearer token."""

    conn_id: str
    token: str
    login: str = ""
    host: str = ""
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)
    port: int = 0

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
    return Credentials(
        conn_id,
        token,
        data.get("login") or "",
        data.get("host") or "",
        extra,
        int(data.get("port") or 0),
    )


def _from_uri(conn_id: str, raw: str) -> Credentials:
    parts = urlsplit(raw)
    extra = dict(parse_qsl(parts.query))
    if "__extra__" in extra:
        extra = json.loads(extra["__extra__"])
    token = unquote(parts.password or "") or extra.get("access_token") or extra.get("token") or ""
    return Credentials(
        conn_id,
        token,
        unquote(parts.username or ""),
        parts.hostname or "",
        extra,
        parts.port or 0,
    )


Lookup = Callable[[str], "Credentials | None"]
Masker = Callable[[str], None]
_LOOKUPS: list[Lookup] = []
_MASKERS: list[Masker] = []


def register(lookup: Lookup | None = None, masker: Masker | None = None) -> None:
    """Add a way to find connections not in the environment, and a way to hide secrets
    from logs (the Airflow adapter registers both). Registering twice is harmless."""
    if lookup is not None and lookup not in _LOOKUPS:
        _LOOKUPS.append(lookup)
    if masker is not None and masker not in _MASKERS:
        _MASKERS.append(masker)


def mask(value: str) -> None:
    """Hand a secret to every registered masker."""
    if value:
        for masker in _MASKERS:
            masker(value)


def find_connection(conn_id: str) -> Credentials | None:
    """An Airflow connection from the environment or a registered lookup; None if neither
    knows it (a connection may hold no token: an SMTP relay).

    Raises:
        CredentialsError: the environment variable cannot be parsed.
    """
    raw = os.environ.get(env_var_name(conn_id))
    creds = None
    if raw:
        try:
            creds = (
                _from_json(conn_id, raw)
                if raw.lstrip().startswith("{")
                else _from_uri(conn_id, raw)
            )
        except (ValueError, TypeError):
            raise CredentialsError(
                f"Airflow connection '{conn_id}' ({env_var_name(conn_id)}) cannot be parsed"
            ) from None
    for lookup in _LOOKUPS:
        if creds is not None:
            break
        creds = lookup(conn_id)
    return creds


def get_credentials(conn_id: str, platform: str = "") -> Credentials:
    """The credentials of an Airflow connection.

    Raises:
        CredentialsError: when the connection is missing or holds no token.
    """
    creds = find_connection(conn_id)
    label = f"{platform}: " if platform else ""
    if creds is None:
        raise CredentialsError(
            f"{label}Airflow connection '{conn_id}' is not defined "
            f"(set {env_var_name(conn_id)} or add it in Airflow)"
        )
    if not creds.token:
        raise CredentialsError(
            f"{label}Airflow connection '{conn_id}' has no token "
            "(put it in the password field or extra.access_token)"
        )
    mask(creds.token)
    for key in ("app_secret", "client_secret", "api_key_secret"):
        mask(str(creds.extra.get(key, "")))
    return creds
