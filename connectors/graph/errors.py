"""From a Graph API response to an action (cf. connectors/errors.py for the shared table).

Graph reports most failures in the body, `{"error": {"code": ..., "error_subcode": ...}}`,
and the HTTP status says little: throttling arrives as HTTP 400 (rarely 403 or 429), an
expired token as 400 or 401. So the code decides, the status only when there is no body:

| Graph response                                   | action                                   |
|--------------------------------------------------|------------------------------------------|
| code 4, 17, 32, 613, 80001-80014 (throttled)      | wait Retry-After, else the business-use- |
|                                                  | case header's estimated_time_to_regain_  |
|                                                  | access, else back off; then RateLimited  |
|   ... a reset longer than max_wait_seconds       | RateLimited at once                      |
| code 190, 102, 104 (token invalid or expired)    | CredentialsInvalid naming the connection |
| code 1, 2, or `is_transient: true`               | retry with back-off, then TransientError |
|   ... code 1 "reduce the amount of data"         | the same, asking for half as many a page |
| code 100 subcode 33 (object gone)                | ObjectGone: the caller records deletion  |
| any other error code                             | ConnectorError at once (a request bug)   |
| HTTP 5xx without a Graph error, timeout, reset   | retry with back-off, then TransientError |
| malformed or truncated JSON, no Content-Type     | retry with back-off, then BadResponse    |
"""

from __future__ import annotations

import email.utils
import json
import time

from connectors.errors import BadResponse, ConnectorError, RateLimited, TransientError

THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TOKEN_CODES = frozenset({102, 104, 190})
TRANSIENT_CODES = frozenset({1, 2})


class ObjectGone(ConnectorError):
    """Graph code 100/33: the object was deleted (or is no longer visible to the token)."""


class Retry(Exception):
    """A failed attempt worth repeating; `final()` is what to raise when retries run out.

    Attributes:
        kind: "throttled", "transient" or "bad".
        detail: one line, free of secrets.
        wait: seconds the API asked us to wait (None: use exponential back-off).
    """

    def __init__(self, kind: str, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.kind, self.detail, self.wait = kind, detail, wait

    def final(self, platform: str, endpoint: str, attempts: int) -> ConnectorError:
        text = f"{platform}: {endpoint}: {self.detail} (after {attempts} attempts)"
        if self.kind == "throttled":
            return RateLimited(text)
        if self.kind == "bad":
            return BadResponse(text)
        return TransientError(text)


def reset_wait(headers) -> float | None:
    """Seconds until the limit resets, from Retry-After or x-business-use-case-usage.

    Graph states the wait (when it does) in whole minutes in x-business-use-case-usage:
    {"<object id>": [{"type": "pages", "estimated_time_to_regain_access": 5, ...}]}.
    x-app-usage carries percentages only, never a reset time.
    """
    value = headers.get("Retry-After")
    if value:
        value = value.strip()
        if value.isdigit():
            return float(value)
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            pass
    usage = headers.get("x-business-use-case-usage")
    if usage:
        try:
            minutes = [entry.get("estimated_time_to_regain_access") or 0
                       for entries in json.loads(usage).values() for entry in entries]
        except (ValueError, AttributeError, TypeError):
            return None
        if minutes and max(minutes) > 0:
            return 60.0 * max(minutes)
    return None
