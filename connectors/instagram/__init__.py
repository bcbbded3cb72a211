"""Instagram business account connector: media, comments and replies.

Uses the Instagram Graph API through connectors.graph (facebook-sdk). The token (a Page
access token of the Page linked to the account) comes from the account's Airflow
connection.
"""

from __future__ import annotations

from connectors.instagram.streams import InstagramConnector

__all__ = ["build"]


def build(account, credentials, api) -> InstagramConnector:
    """The connector for one Instagram business account.

    Args:
        account: `kernel.config.Account` (id: the IG user id; handle: its username).
        credentials: `channelwatch.secrets.Credentials` holding the access token.
        api: `kernel.config.Api`.
    """
    return InstagramConnector(account, credentials, api)
