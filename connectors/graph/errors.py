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

The rows that repeat are `connectors.retry.Retry`s, repeated by `connectors.retry.call`
like every platform's; `WORDING` is how Graph's messages say that it gave up.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable

import requests

from connectors.errors import ConnectorError, CredentialsInvalid
from connectors.retry import Retry, Wording

THROTTLE_CODES = frozenset({4, 17, 32, 613, *range(80001, 80015)})
TOKEN_CODES = frozenset({102, 104, 190})
TRANSIENT_CODES = frozenset({1, 2})
TOO_MUCH_DATA = "reduce the amount of data"

WORDING = Wording(
    exhausted="{detail} (after {attempts} attempts)",
    too_long="{detail}; the limit resets in {wait:.0f} s, longer than api.max_wait_seconds "
    "({max_wait:g} s); the next run will catch up",
)


class ObjectGone(ConnectorError):
    """Graph code 100/33: the object was deleted (or is no longer visible to the token)."""


def classify(
    result,
    response: requests.Response | None,
    *,
    platform: str,
    endpoint: str,
    conn_id: str,
    scrub: Callable[[str], str],
) -> Exception:
    """The exception for a response facebook-sdk raised GraphAPIError on (the table above).

    Args:
        result: `GraphAPIError.result`: the parsed body, or facebook-sdk's own message.
        response: the HTTP response, if one arrived (status and headers).
        platform: "facebook" or "instagram", for messages.
        endpoint: the stream's name, for messages.
        conn_id: the Airflow connection holding the token, named when it is refused.
        scrub: removes the access token from a text.

    Returns:
        A `Retry` to repeat the call, or the ConnectorError to stop with.
    """
    error = result.get("error") if isinstance(result, dict) else None
    if not isinstance(error, dict):
        # facebook-sdk's "Maintype was not text, image, or querystring": an HTML page.
        status = response.status_code if response is not None else 0
        ctype = response.headers.get("content-type", "?") if response is not None else "?"
        if status >= 500 or status == 0:
            return Retry("transient", f"HTTP {status} ({ctype.split(';')[0]})")
        return Retry("bad", f"HTTP {status}: unexpected {ctype.split(';')[0]} body")
    code = error.get("code")
    subcode = error.get("error_subcode")
    message = scrub(" ".join(str(error.get("message") or "").split()))[:300]
    label = f"Graph error {code}" + (f"/{subcode}" if subcode else "") + f": {message}"
    if code in TOKEN_CODES:
        return CredentialsInvalid(platform, conn_id, label)
    if code in THROTTLE_CODES:
        # A wait longer than max_wait_seconds is refused by connectors.retry.call (WORDING).
        wait = reset_wait(response.headers) if response is not None else None
        return Retry("rate", f"rate limited ({label})", wait)
    if code in TRANSIENT_CODES or error.get("is_transient"):
        return Retry("transient", label)
    if code == 100 and subcode == 33:
        return ObjectGone(f"{platform}: {endpoint}: {label}")
    return ConnectorError(f"{platform}: {endpoint}: {label}")


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
            minutes = [
                entry.get("estimated_time_to_regain_access") or 0
                for entries in json.loads(usage).values()
                for entry in entries
            ]
        except (ValueError, AttributeError, TypeError):
            return None
        if minutes and max(minutes) > 0:
            return 60.0 * max(minutes)
    return None
