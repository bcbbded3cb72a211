"""The YouTube Data API v3 client, over google-api-python-client.

google-api-python-client builds each request from its bundled discovery document and
sends it with httplib2. Its quirks, and what is done about each:

- Without `static_discovery=True` it fetches the discovery document from Google; with it,
  no network is needed to build the service. `client_options={"api_endpoint": URL}`
  replaces the root URL, and method paths ("youtube/v3/commentThreads") are joined to
  it, so the sandbox's plain base URL works as is.
- Given neither `http` nor credentials it looks for Application Default Credentials. We
  always pass our own `httplib2.Http(timeout=...)` (the only way to set a timeout), and
  either `developerKey` (an API key: enough for public channels, videos and comments) or
  an `Authorization: Bearer` header (an OAuth access token of the channel's owner, needed
  for paidProductPlacementDetails and for held-for-review comments).
- The API key travels as `key=` in the URL: HttpError messages and the library's DEBUG
  log show it. Request lines are therefore built here from our own parameters, errors are
  phrased from status and reason only, and the library's loggers are redacted.
- `execute(num_retries=N)` retries by itself; we pass 0 and retry with tenacity, so that
  every attempt is counted and charged.
- Its JSON model returns the body as a *string* when it is not JSON (a malformed or
  truncated page): the raw body is taken instead and parsed here.

Every request made is counted per endpoint (retries included), and charged one quota unit
(every list method used costs 1); a run that would spend more than the daily budget stops
with QuotaExhausted before sending the request.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import urlencode

import httplib2
from googleapiclient import discovery
from googleapiclient.errors import HttpError

from connectors import retry
from connectors.base import RawPage
from connectors.errors import BadResponse, QuotaExhausted
from connectors.youtube.errors import classify
from connectors.youtube.settings import YouTubeSettings

LIBRARY_LOGGERS = (
    "googleapiclient.discovery",
    "googleapiclient.http",
    "googleapiclient.model",
    "googleapiclient.discovery_cache",
)
UNITS = {"channels": 1, "playlistItems": 1, "videos": 1, "commentThreads": 1, "comments": 1}


class YouTubeClient:
    """One channel's YouTube session: calls, paging, retries, errors, calls and quota.

    Args:
        conn_id: the Airflow connection holding the credential (named when it fails).
        token: an API key, or an OAuth access token when `oauth` is true.
        settings: `YouTubeSettings`.
        oauth: send the token as `Authorization: Bearer` instead of `key=`.
    """

    def __init__(
        self, conn_id: str, token: str, settings: YouTubeSettings, oauth: bool = False
    ) -> None:
        self.conn_id = conn_id
        self.settings = settings
        self.api_calls: dict[str, int] = {}
        self.quota_units: dict[str, int] = {}
        self._headers = {"authorization": f"Bearer {token}"} if oauth else {}
        self._redactor = retry.redact_logs(token, *LIBRARY_LOGGERS)
        options = {"api_endpoint": settings.base_url + "/"} if settings.base_url else None
        self._collections: dict = {}
        self._service = discovery.build(
            "youtube",
            "v3",
            developerKey=None if oauth else token,
            http=httplib2.Http(timeout=settings.timeout_seconds),
            static_discovery=True,
            cache_discovery=False,
            client_options=options,
        )

    def list(self, resource: str, params: dict[str, str]) -> tuple[dict, RawPage]:
        """One list call: (parsed body, raw page).

        Raises:
            connectors.errors.ConnectorError subclasses; ObjectGone on 404.
        """
        endpoint = f"youtube.{resource}"
        return retry.call(
            lambda: self._attempt(resource, endpoint, params),
            platform="youtube",
            endpoint=endpoint,
            max_retries=self.settings.max_retries,
            backoff_seconds=self.settings.backoff_seconds,
            max_wait_seconds=self.settings.max_wait_seconds,
        )

    def pages(self, resource: str, params: dict[str, str]) -> Iterator[tuple[dict, RawPage]]:
        """Every page of a listing, following nextPageToken."""
        seen: set[str] = set()
        params = dict(params)
        for _ in range(self.settings.max_pages):
            body, raw = self.list(resource, params)
            yield body, raw
            token = body.get("nextPageToken")
            if not token:
                return
            if token in seen:
                raise BadResponse(
                    f"youtube: youtube.{resource}: nextPageToken repeats a page "
                    "already read; stopped instead of looping"
                )
            seen.add(token)
            params["pageToken"] = token
        raise BadResponse(
            f"youtube: youtube.{resource}: more than {self.settings.max_pages} "
            "pages in one listing; stopped"
        )

    def close(self) -> None:
        """Close the HTTP connections (the client can still be used; it reconnects)."""
        self._service.close()

    @property
    def units_spent(self) -> int:
        return sum(self.quota_units.values())

    def _attempt(
        self, resource: str, endpoint: str, params: dict[str, str]
    ) -> tuple[dict, RawPage]:
        units = UNITS[resource]
        if self.units_spent + units > self.settings.daily_quota:
            raise QuotaExhausted(
                f"youtube: {endpoint}: this run has spent {self.units_spent} "
                f"units; one more call would exceed the daily budget of "
                f"{self.settings.daily_quota}"
            )
        self.api_calls[endpoint] = self.api_calls.get(endpoint, 0) + 1
        self.quota_units[endpoint] = self.quota_units.get(endpoint, 0) + units
        collection = self._collections.get(resource)
        if collection is None:  # building one from the discovery document: ~0.2 ms a call
            collection = self._collections[resource] = getattr(self._service, resource)()
        request = collection.list(**params)
        request.headers.update(self._headers)
        request.postproc = lambda resp, content: (resp, content)  # the raw body, unparsed
        request_line = f"GET /youtube/v3/{resource}?{urlencode(sorted(params.items()))}"
        try:
            _, content = request.execute(num_retries=0)
        except HttpError as exc:
            # str(exc) holds the request URL, key included: never used.
            raise classify(
                exc.resp.status, exc.content, exc.resp.get("retry-after"), endpoint, self.conn_id
            ) from None
        except TimeoutError:
            raise retry.Retry(
                "transient", f"no answer within {self.settings.timeout_seconds:g} s"
            ) from None
        except (OSError, httplib2.HttpLib2Error) as exc:
            raise retry.Retry("transient", f"connection failed ({type(exc).__name__})") from None
        text = content.decode("utf-8", "replace") if isinstance(content, bytes) else str(content)
        try:
            body = json.loads(text)
        except ValueError:
            raise retry.Retry(
                "bad", "the body is not valid JSON (malformed or truncated)"
            ) from None
        if not isinstance(body, dict) or not isinstance(body.get("items", []), list):
            raise retry.Retry("bad", "the body is not a YouTube list response")
        raw = RawPage(
            endpoint=endpoint,
            request=request_line,
            body=self._redactor.scrub(text),
            received_at=datetime.now(timezone.utc),
        )
        return body, raw
