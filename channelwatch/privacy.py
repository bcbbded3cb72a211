"""Personal data: pseudonymising public authors and erasing one person's data.

Analyst views show `author_ref`, a keyed hash (HMAC-SHA256) of platform and author id,
instead of the id. The key lives in an Airflow connection (Settings.privacy), so a copy of
the warehouse alone cannot be used to re-identify authors by hashing known ids.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Callable

from channelwatch.config import Settings
from channelwatch.secrets import get_credentials


def make_pseudonymiser(key: str) -> Callable[[str, str], str]:
    """A function (platform, author_id) -> author_ref under `key`."""
    secret = key.encode("utf-8")

    def author_ref(platform: str, author_id: str) -> str:
        if not author_id:
            return ""
        message = f"{platform}:{author_id}".encode("utf-8", "surrogatepass")
        return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]

    return author_ref


def pseudonymiser(settings: Settings) -> Callable[[str, str], str]:
    """The pseudonymiser keyed from the configured connection.

    Raises:
        CredentialsError: when the connection is missing (names it).
    """
    creds = get_credentials(settings.privacy.pseudonym_conn_id, "privacy")
    return make_pseudonymiser(creds.token)
