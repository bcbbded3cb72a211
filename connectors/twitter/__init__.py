"""The X connector (X API v2, over tweepy.Client with an app-only bearer token).

`build(account, credentials, api)` returns a `TwitterConnector`; see connector.py for the
pass and its cost, streams.py for each listing's contract and parsing, client.py for
tweepy's quirks, errors.py for the response table.
"""

from __future__ import annotations

from connectors.twitter.connector import TwitterConnector
from connectors.twitter.settings import TwitterSettings

__all__ = ["TwitterConnector", "TwitterSettings", "build"]


def build(account, credentials, api) -> TwitterConnector:
    """The connector for one X account.

    Args:
        account: `kernel.config.Account` (id: the numeric X user id).
        credentials: `channelwatch.secrets.Credentials` (token: the bearer token).
        api: `kernel.config.Api`.
    """
    return TwitterConnector(account, credentials, TwitterSettings.from_api(api))
