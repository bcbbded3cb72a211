"""Connector errors, the same for every platform.

The table from response to action (cf. Airbyte's source-github error handler):

| response                                   | action                                        |
|--------------------------------------------|-----------------------------------------------|
| 429, Retry-After / x-rate-limit-reset      | wait until reset (up to Api.max_wait_seconds) |
| 429 without reset headers                  | back off exponentially, then RateLimited       |
| Graph error code 4, 17, 32, 613 (often 400)| back off, then RateLimited                     |
| YouTube quotaExceeded / dailyLimitExceeded | QuotaExhausted at once: not retried today      |
| 5xx, timeout, connection reset             | retry with exponential backoff, then Transient |
| malformed JSON, truncated page             | retry like 5xx, then BadResponse               |
| 401, Graph code 190                        | CredentialsInvalid naming the connection       |
| 404 on an object we listed before          | record it as deleted and go on                 |

Messages never contain credentials.
"""

from __future__ import annotations


class ConnectorError(Exception):
    """A failure of one account's pass. The message is one line, free of secrets."""


class CredentialsInvalid(ConnectorError):
    """The token was refused (HTTP 401, Graph code 190). Names the Airflow connection."""

    def __init__(self, platform: str, conn_id: str, detail: str = "") -> None:
        self.conn_id = conn_id
        more = f": {detail}" if detail else ""
        super().__init__(
            f"{platform}: the access token in Airflow connection '{conn_id}' is invalid or "
            f"expired{more}; renew it and update the connection"
        )


class RateLimited(ConnectorError):
    """Still rate limited after the waits we are allowed to make in one run."""


class QuotaExhausted(ConnectorError):
    """The daily quota is spent (YouTube quotaExceeded); try again after midnight Pacific."""


class TransientError(ConnectorError):
    """5xx, timeouts or connection failures that outlasted every retry."""


class BadResponse(ConnectorError):
    """A response that is not what the API promises (malformed or truncated JSON)."""
