"""Sending one HTML email with attachments through an SMTP connection.

The core sends with `smtplib` through the connection ``report.smtp_conn_id`` as
channelwatch.secrets finds it (AIRFLOW_CONN_<ID>, or Airflow itself where the adapter
registered its lookup). Connection fields: host, port, login/password (optional), and in
extra ``disable_tls`` / ``disable_ssl`` (true for a plain local relay) and ``timeout``.
The Airflow adapter registers its own sender (Airflow's SmtpHook, orchestration.mail) in
task bodies and in the command line, so a deployment mails exactly as Airflow does; this
module imports nothing of Airflow.
"""

from __future__ import annotations

import mimetypes
import smtplib
import ssl
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from pathlib import Path

from channelwatch.secrets import env_var_name, find_connection
from kernel.errors import CredentialsError, UserError

# (conn_id, sender, to, subject, html, files) -> None; raises UserError in one line.
Sender = Callable[[str, str, Sequence[str], str, str, Sequence[str | Path]], None]
_SENDERS: list[Sender] = []


def register(sender: Sender) -> None:
    """Send through `sender` instead of smtplib (the Airflow adapter registers SmtpHook)."""
    _SENDERS[:] = [sender]


def not_defined(conn_id: str) -> UserError:
    return UserError(
        f"the SMTP connection {conn_id!r} is not defined: set {env_var_name(conn_id)} "
        "or add it to Airflow"
    )


def send(
    conn_id: str,
    sender: str,
    to: Sequence[str],
    subject: str,
    html: str,
    files: Sequence[str | Path] = (),
) -> None:
    """Send one HTML email with attachments.

    Raises:
        UserError: the connection is not defined, the server cannot be reached, or it
            refuses the message; one line naming the connection.
    """
    if _SENDERS:
        _SENDERS[0](conn_id, sender, to, subject, html, files)
        return
    try:
        conn = find_connection(conn_id)
    except CredentialsError as exc:
        raise UserError(str(exc)) from None
    if conn is None or not conn.host:
        raise not_defined(conn_id)
    message = build_message(sender, to, subject, html, files)
    extra = conn.extra or {}
    timeout = float(extra.get("timeout") or 30)
    plain = _true(extra.get("disable_ssl"))
    try:
        if plain:
            with smtplib.SMTP(conn.host, conn.port or 25, timeout=timeout) as client:
                if not _true(extra.get("disable_tls")):
                    client.starttls(context=ssl.create_default_context())
                _login(client, conn)
                client.send_message(message)
        else:
            with smtplib.SMTP_SSL(
                conn.host, conn.port or 465, timeout=timeout, context=ssl.create_default_context()
            ) as client:
                _login(client, conn)
                client.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise UserError(f"email through {conn_id!r} failed: {' '.join(str(exc).split())}") from None


def build_message(
    sender: str, to: Sequence[str], subject: str, html: str, files: Sequence[str | Path]
) -> EmailMessage:
    """The message: HTML body, then each file attached under its own name."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message.set_content("This message is HTML; open it in a mail client that shows HTML.")
    # base64 keeps the HTML byte for byte (line ends included) whatever relays do to lines
    message.add_alternative(html, subtype="html", cte="base64")
    for file in files:
        path = Path(file)
        kind = (mimetypes.guess_type(path.name)[0] or "application/octet-stream").split("/", 1)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise UserError(f"cannot attach {path}: {exc.strerror}") from None
        message.add_attachment(data, maintype=kind[0], subtype=kind[1], filename=path.name)
    return message


def _login(client: smtplib.SMTP, conn) -> None:
    if conn.login:
        client.login(conn.login, conn.token)


def _true(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")
