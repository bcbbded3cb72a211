"""Retrying one API call: the rows of the error table (connectors/errors.py) that repeat.

Every platform client (Graph, YouTube, X) raises `Retry` from an attempt for a response
worth repeating — a 5xx or timeout ("transient"), a malformed or truncated body ("bad"), a
rate limit ("rate", with the wait the platform asked for, if it said) — and anything else
(CredentialsInvalid, QuotaExhausted, ObjectGone...) to stop at once. `call` repeats with
tenacity: the platform's own wait when it gave one, else exponential back-off; a wait
longer than max_wait_seconds is not made (RateLimited at once); when the attempts run out
the last `Retry` becomes TransientError, BadResponse or RateLimited. How the two endings
are phrased is the platform's (`Wording`); when to wait and when to stop is the same for all.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from connectors.errors import BadResponse, ConnectorError, RateLimited, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

_FINAL = {"transient": TransientError, "bad": BadResponse, "rate": RateLimited}


@dataclasses.dataclass(frozen=True)
class Wording:
    """How a platform's messages phrase the two ways `call` gives up.

    Both are `str.format` templates, prefixed with "{platform}: {endpoint}: ".

    Attributes:
        exhausted: every attempt failed; fields: detail, attempts, s ("s" unless one).
        too_long: the platform asked for a wait longer than a run may make; fields:
            detail, wait (seconds), max_wait (max_wait_seconds).
    """

    exhausted: str = "{detail} (gave up after {attempts} attempt{s})"
    too_long: str = (
        "rate limited for {wait:.0f} s more, longer than the {max_wait:g} s a "
        "run may wait; the next run resumes from the stored watermarks"
    )


class Retry(Exception):
    """One attempt failed in a way worth repeating.

    Args:
        kind: "transient" (5xx, timeout, connection), "bad" (malformed or truncated body)
            or "rate" (rate limited).
        detail: what happened, one line, free of secrets.
        wait: seconds the platform asked us to wait (Retry-After, x-rate-limit-reset,
            x-business-use-case-usage); None to back off exponentially.
    """

    def __init__(self, kind: str, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.wait = wait

    def final(
        self, platform: str, endpoint: str, attempts: int, wording: Wording = Wording()
    ) -> ConnectorError:
        """The error to raise when no attempt is left.

        Args:
            platform: for the message, e.g. "youtube".
            endpoint: the stream's name, for the message.
            attempts: how many attempts were made.
            wording: the platform's phrasing.

        Returns:
            TransientError, BadResponse or RateLimited, by `kind`.
        """
        text = wording.exhausted.format(
            detail=self.detail, attempts=attempts, s="s" * (attempts != 1)
        )
        return _FINAL[self.kind](f"{platform}: {endpoint}: {text}")


def call(
    attempt: Callable[[], T],
    *,
    platform: str,
    endpoint: str,
    max_retries: int,
    backoff_seconds: float,
    max_wait_seconds: float,
    wording: Wording = Wording(),
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run `attempt` until it returns, raises a non-Retry error, or retries run out.

    A rate limit whose reset is further away than `max_wait_seconds` is not waited for:
    RateLimited at once, naming the wait.

    Args:
        attempt: one try of the call; raises `Retry` to be repeated.
        platform: for messages and logs.
        endpoint: the stream's name, for messages and logs.
        max_retries: attempts after the first.
        backoff_seconds: the first exponential back-off wait (doubling).
        max_wait_seconds: the cap of a back-off wait, and the longest wait the platform
            may ask for.
        wording: the platform's phrasing of the final errors.
        sleep: how to wait (tests).

    Returns:
        What `attempt` returned.

    Raises:
        ConnectorError: the attempt's own, or the final form of the last Retry.
    """
    attempts = max_retries + 1

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception()
        if isinstance(exc, Retry) and exc.wait is not None:
            return max(0.0, exc.wait)
        return min(backoff_seconds * 2 ** (state.attempt_number - 1), max_wait_seconds)

    def stop(state: RetryCallState) -> bool:
        exc = state.outcome.exception()
        if isinstance(exc, Retry) and exc.wait is not None and exc.wait > max_wait_seconds:
            return True
        return stop_after_attempt(attempts)(state)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception()
        log.warning(
            "%s: %s: %s; retry %d of %d in %.1f s",
            platform,
            endpoint,
            getattr(exc, "detail", type(exc).__name__),
            state.attempt_number,
            max_retries,
            state.upcoming_sleep,
        )

    retrying = Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception_type(Retry),
        reraise=True,
        sleep=sleep,
        before_sleep=before_sleep,
    )
    try:
        return retrying(attempt)
    except Retry as exc:
        if exc.kind == "rate" and exc.wait is not None and exc.wait > max_wait_seconds:
            text = wording.too_long.format(
                detail=exc.detail, wait=exc.wait, max_wait=max_wait_seconds
            )
            raise RateLimited(f"{platform}: {endpoint}: {text}") from None
        raise exc.final(platform, endpoint, attempts, wording) from None


class Redactor(logging.Filter):
    """Replaces secrets in log records of the client libraries' loggers.

    tweepy logs request headers (the bearer token) at DEBUG; googleapiclient logs request
    URLs (with `key=`) at DEBUG. A filter on those loggers keeps the secrets out whatever
    the log level an operator chooses.
    """

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def add(self, secret: str) -> None:
        if secret and len(secret) >= 4:
            self.secrets.add(secret)

    def scrub(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            clean = self.scrub(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True


_REDACTOR = Redactor()


def redact_logs(secret: str, *loggers: str) -> Redactor:
    """Keep `secret` out of the records of the named loggers (idempotent)."""
    _REDACTOR.add(secret)
    for name in loggers:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
    return _REDACTOR
