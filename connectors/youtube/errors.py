"""YouTube's responses and what the connector does about each (cf. connectors/errors.py).

| response                                              | action                               |
|-------------------------------------------------------|--------------------------------------|
| 403 quotaExceeded / dailyLimitExceeded                | QuotaExhausted at once, not retried  |
| 429, 403 rateLimitExceeded / userRateLimitExceeded    | wait Retry-After, else back off      |
| 401 (OAuth token), 400 API_KEY_INVALID / keyInvalid,  | CredentialsInvalid naming the        |
| 403 "missing a valid API key"                         | Airflow connection                   |
| 404 commentNotFound (comments.list on a thread)       | the thread was deleted: skip it      |
| 5xx, timeout, connection reset                        | retry with back-off, then Transient  |
| 200 whose body is not JSON (malformed, truncated)     | retry with back-off, then BadResponse|
| any other 4xx                                         | ConnectorError with Google's reason  |

Google's error bodies: {"error": {"code": 403, "message": "...", "errors": [{"reason":
"quotaExceeded", "domain": "youtube.quota", ...}], "status": "...", "details": [...]}}.
"""

from __future__ import annotations

import json

from connectors.errors import ConnectorError, CredentialsInvalid, QuotaExhausted
from connectors.retry import Retry

QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
KEY_REASONS = {"keyInvalid", "keyExpired"}


class ObjectGone(Exception):
    """The object asked about was deleted (HTTP 404)."""


def parse_error(content: bytes | str) -> tuple[str, str, set[str]]:
    """(first reason, message, every reason incl. ErrorInfo's) of a Google error body."""
    try:
        body = json.loads(content)
    except (ValueError, TypeError):
        return "", "", set()
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return "", "", set()
    reasons = [e.get("reason", "") for e in error.get("errors") or [] if isinstance(e, dict)]
    reasons += [d.get("reason", "") for d in error.get("details") or [] if isinstance(d, dict)]
    message = str(error.get("message") or "")
    return (reasons[0] if reasons else ""), message, {r for r in reasons if r}


def classify(
    status: int, content: bytes, retry_after: str | None, endpoint: str, conn_id: str
) -> Exception:
    """The exception for a non-2xx response (see the table above)."""
    reason, message, reasons = parse_error(content)
    what = reason or f"HTTP {status}"
    if reasons & QUOTA_REASONS:
        return QuotaExhausted(
            f"youtube: {endpoint}: the daily quota is spent ({what}); "
            "not retried until it resets at midnight Pacific time"
        )
    if status == 429 or reasons & RATE_REASONS:
        return Retry("rate", f"rate limited (HTTP {status} {what})", _seconds(retry_after))
    if status == 401:
        return CredentialsInvalid("youtube", conn_id, f"HTTP 401 {what}")
    if (
        status == 400 and (reasons & KEY_REASONS or any(r.startswith("API_KEY") for r in reasons))
    ) or (status == 403 and "API key" in message):
        return CredentialsInvalid("youtube", conn_id, f"HTTP {status} {what}: {message}")
    if status == 404:
        return ObjectGone(f"youtube: {endpoint}: {what}")
    if status >= 500:
        return Retry("transient", f"HTTP {status}")
    return ConnectorError(f"youtube: {endpoint}: HTTP {status} {what}: {message}"[:500])


def _seconds(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: back off instead
