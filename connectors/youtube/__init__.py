"""The YouTube connector (YouTube Data API v3, over google-api-python-client).

`build(account, credentials, api)` returns a `YouTubeConnector`; see connector.py for the
pass and its quota, streams.py for each call's contract and parsing, client.py for the
library's quirks, errors.py for the response table.
"""

from __future__ import annotations

from connectors.youtube.connector import YouTubeConnector
from connectors.youtube.settings import YouTubeSettings

__all__ = ["YouTubeConnector", "YouTubeSettings", "build"]


def build(account, credentials, api) -> YouTubeConnector:
    """The connector for one channel.

    Args:
        account: `kernel.config.Account` (id: the channel id, UC...).
        credentials: `channelwatch.secrets.Credentials`: an API key, or an OAuth access
            token of the channel's owner with extra {"auth": "oauth"}.
        api: `kernel.config.Api`.
    """
    return YouTubeConnector(account, credentials, YouTubeSettings.from_api(api))
