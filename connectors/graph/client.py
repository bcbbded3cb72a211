"""The Graph API client shared by the Facebook and Instagram connectors, over facebook-sdk.

facebook-sdk 3.1.0 does the HTTP call (`GraphAPI.request`); this module bends it to what a
scheduled, unattended ingestion needs. Its quirks, and what is done about each:

- It only accepts Graph versions 2.8-3.1 in its constructor. We build it without a version
  and set `graph.version` afterwards to the configured one; it prefixes every path with
  that attribute verbatim, so the value keeps its "v" ("v23.0").
- Its host is the module constant FACEBOOK_GRAPH_URL. Rather than patching a global, the
  sandbox is reached by mounting a transport adapter on the client's own requests session
  that rewrites https://graph.facebook.com/ to the sandbox URL.
- It raises only when the body holds an `error` object, whatever the HTTP status, and
  gives no access to the response. A response hook on the session keeps the last
  response, so status and headers (Retry-After, x-business-use-case-usage) can be read and
  the body stored exactly as received.
- It reads `headers["content-type"]` unguarded (KeyError without one) and calls
  `response.json()` unguarded (ValueError on malformed or truncated JSON); both are caught
  here and retried as bad responses.
- Its `get_all_connections` follows `paging.next` until a page has none, so a `next` link
  that never ends loops forever. We page ourselves with a page cap and a repeated-cursor
  check.
- Graph's paging links carry the access_token. Pages are followed by re-issuing the link's
  path and parameters through facebook-sdk (which adds the token itself, and always to
  graph.facebook.com or the sandbox, never to a host named in a response), and the token
  is replaced in every stored body, request line and error message, and in urllib3's
  DEBUG log of request lines.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import datetime, timezone
from urllib.parse import parse_qsl, urlencode, urlsplit

import facebook
import requests
from requests.adapters import HTTPAdapter

from connectors.base import RawPage
from connectors.errors import BadResponse
from connectors.graph.errors import TOO_MUCH_DATA, WORDING, classify
from connectors.graph.settings import GraphSettings
from connectors.retry import Retry, call

GRAPH_URL = facebook.FACEBOOK_GRAPH_URL  # "https://graph.facebook.com/"
REDACTED = "REDACTED"
_TOKEN_IN_TEXT = re.compile(r"(access_token(?:=|%3D|\\u003d))[^&\"'\\\s]+", re.I)
_VERSIONED_PATH = re.compile(r"^/?(v\d+\.\d+(?:/[A-Za-z0-9_.]*[A-Za-z0-9_])+)$")


class _RedactTokens(logging.Filter):
    """urllib3 logs each request line at DEBUG, query string (and token) included."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_TEXT.sub(r"\g<1>" + REDACTED, a) if isinstance(a, str) else a
                for a in record.args
            )
        if isinstance(record.msg, str):
            record.msg = _TOKEN_IN_TEXT.sub(r"\g<1>" + REDACTED, record.msg)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_RedactTokens())


class _SandboxAdapter(HTTPAdapter):
    """Sends requests meant for graph.facebook.com to another base URL (the sandbox)."""

    def __init__(self, base_url: str) -> None:
        super().__init__()
        self._base = base_url.rstrip("/") + "/"

    def send(self, request, **kwargs):
        if request.url.startswith(GRAPH_URL):
            request.url = self._base + request.url[len(GRAPH_URL) :]
        return super().send(request, **kwargs)


class GraphClient:
    """One account's Graph API session: calls, paging, retries, errors, call counts.

    Args:
        platform: "facebook" or "instagram" (for messages).
        conn_id: the Airflow connection holding the token (named when the token fails).
        token: the Page (or Instagram business) access token.
        settings: `GraphSettings`.
    """

    def __init__(self, platform: str, conn_id: str, token: str, settings: GraphSettings) -> None:
        self.platform = platform
        self.conn_id = conn_id
        self.settings = settings
        self.api_calls: dict[str, int] = {}
        self._token = token
        self._last: requests.Response | None = None
        session = requests.Session()
        if settings.base_url:
            session.mount(GRAPH_URL, _SandboxAdapter(settings.base_url))
        session.hooks["response"].append(self._keep_response)
        self._graph = facebook.GraphAPI(
            access_token=token, timeout=settings.timeout_seconds, session=session
        )
        self._graph.version = settings.graph_version  # see the module docstring

    # -- public --

    def pages(
        self, endpoint: str, path: str, params: dict[str, str]
    ) -> Iterator[tuple[dict, RawPage]]:
        """Every page of a list: (parsed body, raw page), following `paging.next`.

        Args:
            endpoint: the stream's name, for call counts and RawPage.endpoint.
            path: the node and edge, e.g. "104958162837/published_posts".
            params: query parameters (fields, limit, since...), never the token.

        Raises:
            connectors.errors.ConnectorError subclasses; ObjectGone if the node was deleted.
        """
        yield from self._walk(endpoint, f"{self._graph.version}/{path}", params)

    def follow(self, endpoint: str, next_url: str) -> Iterator[tuple[dict, RawPage]]:
        """Every page from a `paging.next` link onwards (e.g. a nested connection's)."""
        path, params = self._split_link(endpoint, next_url)
        yield from self._walk(endpoint, path, params)

    def close(self) -> None:
        """Close the HTTP connections (a pass ends; the client can still be used again)."""
        self._graph.session.close()

    def scrub(self, text: str) -> str:
        """The text with the access token replaced, wherever it appears."""
        text = _TOKEN_IN_TEXT.sub(r"\g<1>" + REDACTED, text)
        if self._token and self._token in text:
            text = text.replace(self._token, REDACTED)
        return text

    # -- paging --

    def _walk(
        self, endpoint: str, path: str, params: dict[str, str]
    ) -> Iterator[tuple[dict, RawPage]]:
        seen = {urlencode(sorted(params.items()))}
        for _ in range(self.settings.max_pages):
            body, raw = self._call(endpoint, path, params)
            yield body, raw
            next_url = (body.get("paging") or {}).get("next")
            if not next_url:
                return
            path, params = self._split_link(endpoint, next_url)
            position = urlencode(sorted(params.items()))
            if position in seen:
                raise BadResponse(
                    f"{self.platform}: {endpoint}: paging.next repeats a page "
                    "already read; stopped instead of looping"
                )
            seen.add(position)
        raise BadResponse(
            f"{self.platform}: {endpoint}: more than {self.settings.max_pages} "
            "pages in one listing; stopped (raise max_pages if this is real)"
        )

    def _split_link(self, endpoint: str, url: str) -> tuple[str, dict[str, str]]:
        parts = urlsplit(url)
        match = _VERSIONED_PATH.match(parts.path)
        if not match:
            raise BadResponse(
                f"{self.platform}: {endpoint}: unexpected paging link {self.scrub(parts.path)!r}"
            )
        params = {
            k: v for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "access_token"
        }
        return match.group(1), params

    # -- one call, with retries --

    def _call(self, endpoint: str, path: str, params: dict[str, str]) -> tuple[dict, RawPage]:
        return call(
            lambda: self._attempt(endpoint, path, params),
            platform=self.platform,
            endpoint=endpoint,
            max_retries=self.settings.max_retries,
            backoff_seconds=self.settings.backoff_seconds,
            max_wait_seconds=self.settings.max_wait_seconds,
            wording=WORDING,
        )

    def _keep_response(self, response: requests.Response, *args, **kwargs) -> None:
        self._last = response

    def _attempt(self, endpoint: str, path: str, params: dict[str, str]) -> tuple[dict, RawPage]:
        self.api_calls[endpoint] = self.api_calls.get(endpoint, 0) + 1
        self._last = None
        request_line = f"GET /{path}?{urlencode(params)}" if params else f"GET /{path}"
        try:
            result = self._graph.request(path, dict(params))
        except facebook.GraphAPIError as exc:
            error = classify(
                exc.result,
                self._last,
                platform=self.platform,
                endpoint=endpoint,
                conn_id=self.conn_id,
                scrub=self.scrub,
            )
            if isinstance(error, Retry) and TOO_MUCH_DATA in error.detail:
                # Graph answers code 1 "Please reduce the amount of data you're asking for"
                # when a page with its nested connections is too large: ask for half as
                # many per page (cursors stay valid; later links carry the new limit).
                limit = int(params.get("limit") or 25)
                if limit > 1:
                    params["limit"] = str(limit // 2)
            raise error from None
        except KeyError:
            # facebook-sdk reads headers["content-type"] without a default.
            raise Retry("bad", f"HTTP {self._status()} without a Content-Type") from None
        except ValueError:
            # response.json() on a malformed or truncated body (requests' JSONDecodeError is
            # also a RequestException, so this comes first).
            raise Retry(
                "bad", f"HTTP {self._status()} body is not valid JSON (malformed or truncated)"
            ) from None
        except requests.Timeout:
            raise Retry(
                "transient", f"no answer within {self.settings.timeout_seconds:g} s"
            ) from None
        except requests.ConnectionError:
            raise Retry("transient", "connection failed or was reset") from None
        except requests.RequestException as exc:
            raise Retry("transient", f"request failed ({type(exc).__name__})") from None
        response = self._last
        status = response.status_code if response is not None else 0
        if status >= 500:
            raise Retry("transient", f"HTTP {status}")
        if (
            status >= 400
            or not isinstance(result, dict)
            or not isinstance(result.get("data"), list)
        ):
            raise Retry("bad", f"HTTP {status}: not a Graph list response")
        raw = RawPage(
            endpoint=endpoint,
            request=self.scrub(request_line),
            body=self.scrub(response.text),
            received_at=datetime.now(timezone.utc),
        )
        return result, raw

    def _status(self) -> str:
        return str(self._last.status_code) if self._last is not None else "?"
