"""X's responses and what the connector does about each (cf. connectors/errors.py).

| response                                        | action                                     |
|-------------------------------------------------|--------------------------------------------|
| 429 with x-rate-limit-reset (epoch seconds)     | wait until the reset, if within            |
|   or Retry-After (seconds)                      |   max_wait_seconds; else RateLimited       |
| 429 without either                              | back off exponentially, then RateLimited   |
| 401                                             | CredentialsInvalid naming the connection   |
| 5xx, timeout, connection reset                  | retry with back-off, then TransientError   |
| 200 whose body is not JSON (malformed/truncated)| retry with back-off, then BadResponse      |
| 200 with only "errors" (e.g. unknown user id)   | ConnectorError with X's detail             |
| 400, 403, 404                                   | ConnectorError with X's detail             |

tweepy raises TooManyRequests for a 429 when wait_on_rate_limit is off; with it on, it
sleeps until x-rate-limit-reset and — when the header is missing — retries at once, in a
loop. So the client keeps it off and waits here.
"""

from __future__ import annotations

import time

import requests

from connectors.errors import ConnectorError, CredentialsInvalid
from connectors.retry import Retry

RESET_MARGIN_SECONDS = 1.0  # x-rate-limit-reset is whole seconds; tweepy adds one too


def detail(response: requests.Response | None) -> str:
    """X's own one-line explanation of an error response, if it gave one."""
    if response is None:
        return ""
    try:
        body = response.json()
    except ValueError:
        return ""
    if not isinstance(body, dict):
        return ""
    errors = body.get("errors") or []
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    text = (
        body.get("detail") or first.get("message") or first.get("detail") or body.get("title") or ""
    )
    return " ".join(str(text).split())[:300]


def rate_limit_wait(response: requests.Response | None, now: float | None = None) -> float | None:
    """Seconds until X lets us call again: x-rate-limit-reset, else Retry-After, else None."""
    if response is None:
        return None
    now = time.time() if now is None else now
    reset = response.headers.get("x-rate-limit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now) + RESET_MARGIN_SECONDS
        except ValueError:
            pass
    after = response.headers.get("retry-after")
    if after:
        try:
            return max(0.0, float(after))
        except ValueError:
            pass
    return None


def classify(
    status: int, response: requests.Response | None, endpoint: str, conn_id: str
) -> Exception:
    """The exception for a non-2xx response (see the table above)."""
    why = detail(response)
    if status == 429:
        return Retry("rate", f"HTTP 429 {why or 'Too Many Requests'}", rate_limit_wait(response))
    if status == 401:
        return CredentialsInvalid("twitter", conn_id, f"HTTP 401 {why}".strip())
    if status >= 500:
        return Retry("transient", f"HTTP {status}")
    return ConnectorError(f"twitter: {endpoint}: HTTP {status} {why}".strip())
