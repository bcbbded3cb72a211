"""Facebook Page connector: the Page's posts and every comment and reply on them.

Uses the Graph API through connectors.graph (facebook-sdk). The Page access token comes
from the account's Airflow connection.
"""

from __future__ import annotations

from connectors.facebook.streams import FacebookConnector

__all__ = ["build"]


def build(account, credentials, api) -> FacebookConnector:
    """The connector for one Facebook Page.

    Args:
        account: `kernel.config.Account` (id: the Page id).
        credentials: `channelwatch.secrets.Credentials` holding a Page access token.
        api: `kernel.config.Api`.
    """
    return FacebookConnector(account, credentials, api)
