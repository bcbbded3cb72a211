"""Connectors: one package per platform, each hiding its client library.

`build(platform, account, credentials, api)` returns a `connectors.base.Connector`.
The library a platform uses (facebook-sdk, google-api-python-client, tweepy) is imported
only by that platform's package, so one can be swapped without touching the rest.
"""

from __future__ import annotations

import importlib

from connectors.base import Batch, Connector, FetchResult, FetchState, RawPage, Scope
from connectors.errors import (
    BadResponse,
    ConnectorError,
    CredentialsInvalid,
    QuotaExhausted,
    RateLimited,
    TransientError,
)

PACKAGES = {
    "facebook": "connectors.facebook",
    "instagram": "connectors.instagram",
    "youtube": "connectors.youtube",
    "twitter": "connectors.twitter",
}

__all__ = [
    "Batch",
    "Connector",
    "FetchResult",
    "FetchState",
    "RawPage",
    "Scope",
    "build",
    "BadResponse",
    "ConnectorError",
    "CredentialsInvalid",
    "QuotaExhausted",
    "RateLimited",
    "TransientError",
]


def build(platform: str, account, credentials, api) -> Connector:
    """The connector for one account.

    Args:
        platform: facebook, instagram, youtube or twitter.
        account: the `kernel.config.Account`.
        credentials: `channelwatch.secrets.Credentials` from the account's connection.
        api: `kernel.config.Api` (base URL, Graph version, page size, retries...).
    """
    module = importlib.import_module(PACKAGES[platform])
    return module.build(account, credentials, api)
