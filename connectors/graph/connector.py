"""One incremental pass over a Graph account, shared by Facebook and Instagram.

The pass (see connectors/base.py for the contract):

1. List the root stream (posts or media) created since min(watermark, lookback_since),
   rounded down to midnight UTC, or everything on the first run, with the child streams
   (comments, replies) expanded in the same call. A re-run with nothing new therefore
   costs one call per endpoint as long as the posts of the look-back fit on one page and
   their comments in one nested page. The rounding keeps `since` (which Graph repeats in
   its paging links) the same all day, so unchanged pages have unchanged bodies and the
   loader stores nothing.
2. Follow the `paging.next` link of any nested connection that has more pages (its own
   endpoint: facebook.comments, instagram.comments, instagram.replies).
3. Report complete scopes: every post or media listed (Scope(since, kind="post")), and for
   each of them all its comments and replies (Scope(root_id=...)), so that the pipeline
   marks what disappeared as deleted. Comments created after `since` on older posts are
   not re-read, which is why the post scope is limited to kind "post".
4. Report the newest root's created time as the watermark; the pipeline writes it after
   the last batch is committed.

A backfill (``state.until`` set) lists the root stream of the look-back window that ends
there: ``since`` the window's start, ``until`` its end (both edges take them). Comments
nested in a post cannot be bounded by time; the pipeline drops those created later.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import ClassVar

from connectors.base import Batch, FetchResult, FetchState, Scope
from connectors.errors import BadResponse
from connectors.graph.client import GraphClient
from connectors.graph.errors import ObjectGone
from connectors.graph.settings import GraphSettings
from connectors.graph.streams import GraphStream
from kernel.items import Item, ItemError, parse_timestamp


class GraphConnector:
    """A Graph account's connector; subclasses name the platform and the root stream."""

    platform: ClassVar[str]
    root_stream: ClassVar[type[GraphStream]]

    def __init__(self, account, credentials, api) -> None:
        self.account = account
        self.settings = GraphSettings.from_api(api)
        self.client = GraphClient(
            self.platform, credentials.conn_id, credentials.token, self.settings
        )
        self._streams: dict[str, GraphStream] = {}
        pending = [self.root_stream]
        while pending:
            cls = pending.pop()
            self._streams[cls.name] = cls(account)
            pending.extend(cls.children)
        self._result = FetchResult()

    def fetch(self, state: FetchState) -> Iterator[Batch]:
        """Yield one batch per page received; see the module docstring."""
        try:
            yield from self._pass(state)
        finally:
            self.client.close()

    def _pass(self, state: FetchState) -> Iterator[Batch]:
        self._result = FetchResult()
        root = self._streams[self.root_stream.name]
        mark = state.watermarks.get(root.name)
        newest = parse_timestamp(mark, "watermark") if mark else None
        since = _day_start(min(newest, state.lookback_since)) if newest else None
        if state.until is not None:
            since = _day_start(state.lookback_since)
        size = self.settings.page_size
        params = {"fields": root.field_expression(size), "limit": str(size)}
        if since is not None:
            params["since"] = str(int(since.timestamp()))
        if state.until is not None:
            params["until"] = str(int(state.until.timestamp()))
        scopes: list[Scope] = []
        path = root.path.format(account_id=self.account.id)
        for body, raw in self.client.pages(root.name, path, params):
            items: list[Item] = []
            follow: list[tuple[type[GraphStream], str, str, str]] = []
            roots: list[str] = []
            for record in body["data"]:
                item = self._parse(root, record, None, None)
                items.append(item)
                roots.append(item.id)
                if newest is None or item.created_at > newest:
                    newest = item.created_at
                self._nested(type(root), record, item.id, items, follow)
            yield Batch(items, [raw])
            incomplete = yield from self._follow(follow)
            scopes.extend(Scope(since=None, root_id=r) for r in roots if r not in incomplete)
        scopes.append(Scope(since=since, kind="post"))
        self._result.complete_scopes = scopes
        if newest is not None:
            self._result.watermarks[root.name] = newest.isoformat()

    def result(self) -> FetchResult:
        """Watermarks, complete scopes and calls per endpoint (retries included)."""
        self._result.api_calls = dict(self.client.api_calls)
        return self._result

    # -- internals --

    def _follow(self, follow: list) -> Iterator[Batch]:
        """Read the further pages of nested connections; returns roots left incomplete."""
        incomplete: set[str] = set()
        index = 0
        while index < len(follow):
            cls, url, root_id, container = follow[index]
            index += 1
            if root_id in incomplete:
                continue
            stream = self._streams[cls.name]
            try:
                for body, raw in self.client.follow(cls.name, url):
                    items: list[Item] = []
                    for record in body["data"]:
                        items.append(self._parse(stream, record, root_id, container))
                        self._nested(cls, record, root_id, items, follow)
                    yield Batch(items, [raw])
            except ObjectGone:
                # Deleted between the two calls: the next pass sees it gone. Its thread is
                # not a complete listing, so nothing in it is marked deleted now.
                incomplete.add(root_id)
        return incomplete

    def _nested(
        self, cls: type[GraphStream], record: dict, root_id: str, items: list[Item], follow: list
    ) -> None:
        for child in cls.children:
            connection = record.get(child.edge)
            if not isinstance(connection, dict):
                continue  # Graph leaves an empty connection out altogether
            stream = self._streams[child.name]
            container = str(record.get("id"))
            for inner in connection.get("data") or []:
                items.append(self._parse(stream, inner, root_id, container))
                self._nested(child, inner, root_id, items, follow)
            next_url = (connection.get("paging") or {}).get("next")
            if next_url:
                follow.append((child, next_url, root_id, container))

    def _parse(
        self, stream: GraphStream, record: dict, root_id: str | None, container: str | None
    ) -> Item:
        try:
            return stream.parse(record, root_id, container)
        except (KeyError, TypeError, ValueError, ItemError) as exc:
            ident = record.get("id") if isinstance(record, dict) else None
            raise BadResponse(
                f"{self.platform}: {stream.name}: object {ident!r} cannot be "
                f"parsed: {type(exc).__name__}: {exc}"
            ) from None


def _day_start(moment: datetime) -> datetime:
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)
