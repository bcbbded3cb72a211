"""The X API v2 client, over tweepy.Client (app-only bearer token).

tweepy does the HTTP call; this module bends it to an unattended ingestion. Its quirks,
and what is done about each:

- Its host is hardcoded ("https://api.twitter.com" in Client.request). The sandbox is
  reached by mounting a transport adapter on the client's own requests session that
  rewrites that prefix to the configured base URL.
- It sends no timeout. The same adapter sets one on every request.
- With wait_on_rate_limit=True it sleeps until x-rate-limit-reset and, when a 429 has no
  such header, retries at once, without end. It is built with wait_on_rate_limit=False
  and 429s are handled in connectors.twitter.errors (reset honoured up to
  max_wait_seconds, otherwise exponential back-off, then RateLimited).
- Its DEBUG log prints the request headers, bearer token included: the "tweepy.client"
  logger gets a redacting filter.
- `return_type=requests.Response` makes it hand back the response itself, so the body
  can be stored exactly as received and parsed (or refused as malformed) here.

The bearer token travels in the Authorization header only; request lines are the path and
query of the request actually sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import requests
import tweepy
from requests.adapters import HTTPAdapter

from connectors import retry
from connectors.base import RawPage
from connectors.errors import BadResponse, ConnectorError
from connectors.twitter.errors import classify, detail
from connectors.twitter.settings import TwitterSettings

HOST = "https://api.twitter.com"


class _Transport(HTTPAdapter):
    """Sends tweepy's requests to the configured base URL, always with a timeout."""

    def __init__(self, base_url: str | None, timeout: float) -> None:
        super().__init__()
        self._base = base_url.rstrip("/") if base_url else None
        self._timeout = timeout

    def send(self, request, **kwargs):
        if self._base and request.url.startswith(HOST):
            request.url = self._base + request.url[len(HOST) :]
        kwargs["timeout"] = self._timeout
        return super().send(request, **kwargs)


class TwitterClient:
    """One account's X session: calls, paging, retries, errors and call counts.

    Args:
        conn_id: the Airflow connection holding the bearer token (named when it fails).
        token: the app-only bearer token.
        settings: `TwitterSettings`.
    """

    def __init__(self, conn_id: str, token: str, settings: TwitterSettings) -> None:
        self.conn_id = conn_id
        self.settings = settings
        self.api_calls: dict[str, int] = {}
        self._redactor = retry.redact_logs(token, "tweepy.client")
        self._tweepy = tweepy.Client(
            bearer_token=token, return_type=requests.Response, wait_on_rate_limit=False
        )
        self._tweepy.session.mount(
            HOST + "/", _Transport(settings.base_url, settings.timeout_seconds)
        )

    def get(self, endpoint: str, method: str, *args, **params) -> tuple[dict, RawPage]:
        """One call of a tweepy.Client method: (parsed body, raw page).

        Raises:
            connectors.errors.ConnectorError subclasses.
        """
        return retry.call(
            lambda: self._attempt(endpoint, method, args, params),
            platform="twitter",
            endpoint=endpoint,
            max_retries=self.settings.max_retries,
            backoff_seconds=self.settings.backoff_seconds,
            max_wait_seconds=self.settings.max_wait_seconds,
        )

    def pages(
        self, endpoint: str, method: str, *args, token_param: str = "pagination_token", **params
    ) -> Iterator[tuple[dict, RawPage]]:
        """Every page of a listing, following meta.next_token."""
        seen: set[str] = set()
        for _ in range(self.settings.max_pages):
            body, raw = self.get(endpoint, method, *args, **params)
            yield body, raw
            token = (body.get("meta") or {}).get("next_token")
            if not token:
                return
            if token in seen:
                raise BadResponse(
                    f"twitter: {endpoint}: next_token repeats a page already "
                    "read; stopped instead of looping"
                )
            seen.add(token)
            params[token_param] = token
        raise BadResponse(
            f"twitter: {endpoint}: more than {self.settings.max_pages} pages in "
            "one listing; stopped"
        )

    def close(self) -> None:
        """Close the HTTP connections (the client can still be used; it reconnects)."""
        self._tweepy.session.close()

    def _attempt(
        self, endpoint: str, method: str, args: tuple, params: dict
    ) -> tuple[dict, RawPage]:
        self.api_calls[endpoint] = self.api_calls.get(endpoint, 0) + 1
        try:
            response = getattr(self._tweepy, method)(*args, **params)
        except tweepy.HTTPException as exc:
            raise classify(
                exc.response.status_code if exc.response is not None else 0,
                exc.response,
                endpoint,
                self.conn_id,
            ) from None
        except requests.Timeout:
            raise retry.Retry(
                "transient", f"no answer within {self.settings.timeout_seconds:g} s"
            ) from None
        except requests.RequestException as exc:
            raise retry.Retry("transient", f"connection failed ({type(exc).__name__})") from None
        text = response.text
        try:
            body = response.json()
        except ValueError:
            raise retry.Retry(
                "bad", "the body is not valid JSON (malformed or truncated)"
            ) from None
        if not isinstance(body, dict):
            raise retry.Retry("bad", "the body is not a JSON object")
        if "errors" in body and "data" not in body and "meta" not in body:
            raise ConnectorError(f"twitter: {endpoint}: {detail(response) or 'error without data'}")
        raw = RawPage(
            endpoint=endpoint,
            request=f"GET {response.request.path_url}",
            body=self._redactor.scrub(text),
            received_at=datetime.now(timezone.utc),
        )
        return body, raw
