"""Retrying one API call: the rows of the error table (connectors/errors.py) that repeat.

A platform client raises `Retry` from an attempt for a response worth repeating — a 5xx or
timeout ("transient"), a malformed or truncated body ("bad"), a rate limit ("rate", with
the wait the platform asked for, if it said) — and anything else (CredentialsInvalid,
QuotaExhausted...) to stop at once. `call` repeats with tenacity: the platform's own wait
when it gave one, else exponential back-off; when the attempts run out the last `Retry`
becomes TransientError, BadResponse or RateLimited. Used by the YouTube and X clients.
"""

from __future__ import annotations

import logging
import time
from typing import Callable, TypeVar

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt

from connectors.errors import BadResponse, ConnectorError, RateLimited, TransientError

log = logging.getLogger(__name__)
T = TypeVar("T")

_FINAL = {"transient": TransientError, "bad": BadResponse, "rate": RateLimited}


class Retry(Exception):
    """One attempt failed in a way worth repeating.

    Args:
        kind: "transient" (5xx, timeout, connection), "bad" (malformed or truncated body)
            or "rate" (rate limited).
        detail: what happened, one line, free of secrets.
        wait: seconds the platform asked us to wait (Retry-After, x-rate-limit-reset).
    """

    def __init__(self, kind: str, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind
        self.detail = detail
        self.wait = wait

    def final(self, platform: str, endpoint: str, attempts: int) -> ConnectorError:
        return _FINAL[self.kind](f"{platform}: {endpoint}: {self.detail} "
                                 f"(gave up after {attempts} attempt{'s' * (attempts != 1)})")


def call(attempt: Callable[[], T], *, platform: str, endpoint: str, max_retries: int,
         backoff_seconds: float, max_wait_seconds: float,
         sleep: Callable[[float], None] = time.sleep) -> T:
    """Run `attempt` until it returns, raises a non-Retry error, or retries run out.

    A rate limit whose reset is further away than `max_wait_seconds` is not waited for:
    RateLimited at once, naming the wait.

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
        log.warning("%s: %s: %s; retry %d of %d in %.1f s", platform, endpoint,
                    getattr(exc, "detail", type(exc).__name__), state.attempt_number, max_retries,
                    state.upcoming_sleep)

    retrying = Retrying(stop=stop, wait=wait, retry=retry_if_exception_type(Retry),
                        reraise=True, sleep=sleep, before_sleep=before_sleep)
    try:
        return retrying(attempt)
    except Retry as exc:
        if exc.kind == "rate" and exc.wait is not None and exc.wait > max_wait_seconds:
            raise RateLimited(f"{platform}: {endpoint}: rate limited for {exc.wait:.0f} s more, "
                              f"longer than the {max_wait_seconds:g} s a run may wait; "
                              "the next run resumes from the stored watermarks") from None
        raise exc.final(platform, endpoint, attempts) from None


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
