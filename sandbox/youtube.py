"""The sandbox's YouTube Data API v3: channels, playlistItems, videos, commentThreads, comments.

Data files (JSON Lines, one native object a line, as the API returns them in list
responses; see docs/sandbox.md):

    DIR/youtube/channels.jsonl        youtube#channel with contentDetails.relatedPlaylists.uploads
    DIR/youtube/videos.jsonl          youtube#video (snippet, paidProductPlacementDetails, ...)
    DIR/youtube/commentThreads.jsonl  youtube#commentThread (snippet.topLevelComment, replies)
    DIR/youtube/comments.jsonl        youtube#comment replies (snippet.parentId = thread id)

The server derives what changes with the clock: a thread's totalReplyCount and the (up to
five, newest first) replies it carries are recomputed from the replies visible at the
sandbox's time, whether they came embedded in commentThreads.jsonl or from comments.jsonl.

Auth: an API key (`key=`) or `Authorization: Bearer`; none at all is refused with 403 as
Google does. The literal token "expired" is refused: 400 API_KEY_INVALID as a key, 401 as a
bearer token, so tests can simulate an expired credential. search.list is not served (404):
channelwatch never spends 100 units on it.

Quota: every request served is charged one unit (all the list methods used here cost 1);
`Api.units` holds the units served per endpoint.

Divergences from the real API, on purpose: paidProductPlacementDetails is served to any
caller (Google returns it only to the video's owner); more than 50 ids in videos.list is a
400 here, to catch connectors that do not batch.
"""

from __future__ import annotations

import bisect
import dataclasses
import html
import json
import re
import threading
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sandbox.native import (
    b64id,
    building_index,
    decode_token,
    digest,
    encode_token,
    is_visible,
    parse_time,
    public,
    text_at,
    write_json_line,
)
from sandbox.server import Request, Response, Store

PLATFORM = "youtube"
PREFIX = "/youtube/v3/"
METHODS = ("channels", "playlistItems", "videos", "commentThreads", "comments")
MAX_RESULTS = {
    "playlistItems": (0, 50, 5),
    "commentThreads": (1, 100, 20),
    "comments": (1, 100, 20),
}
REPLIES_CARRIED = 5  # commentThreads.list carries at most this many replies per thread
TOKEN_PREFIX = "CW"
EXPIRED = "expired"


# --- errors, in Google's shape ---------------------------------------------------------------


def error(
    code: int,
    reason: str,
    message: str,
    domain: str = "youtube.parameter",
    status: str | None = None,
    details: list | None = None,
    headers: dict | None = None,
) -> Response:
    body: dict[str, Any] = {
        "error": {
            "code": code,
            "message": message,
            "errors": [{"message": message, "domain": domain, "reason": reason}],
        }
    }
    if status:
        body["error"]["status"] = status
    if details:
        body["error"]["details"] = details
    return Response(code, body, headers or {})


def _bad_param(name: str, message: str | None = None) -> Response:
    return error(
        400,
        "invalidParameter",
        message or f"Invalid value for parameter {name}.",
        status="INVALID_ARGUMENT",
    )


QUOTA_MESSAGE = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)


# --- partial responses: the `fields` parameter -------------------------------------------------


class FieldsError(ValueError):
    pass


def parse_fields(spec: str) -> dict:
    """Parse Google's partial-response syntax ("items(id,snippet/title),nextPageToken").

    Returns a tree {name: subtree or None (the whole value)}.
    """
    pos = 0

    def parse_list() -> dict:
        nonlocal pos
        tree: dict = {}
        while True:
            path = []
            while True:
                match = re.compile(r"[A-Za-z_][A-Za-z0-9_]*|\*").match(spec, pos)
                if not match:
                    raise FieldsError(f"bad fields expression at {pos}")
                path.append(match.group())
                pos = match.end()
                if pos < len(spec) and spec[pos] == "/":
                    pos += 1
                    continue
                break
            sub = None
            if pos < len(spec) and spec[pos] == "(":
                pos += 1
                sub = parse_list()
                if pos >= len(spec) or spec[pos] != ")":
                    raise FieldsError("unbalanced parentheses in fields")
                pos += 1
            node = tree
            for name in path[:-1]:
                child = node.get(name)
                if child is None and name in node:
                    break  # already selected whole
                node = node.setdefault(name, {})
            else:
                last = path[-1]
                if sub is None or node.get(last, {}) is None:
                    node[last] = None
                else:
                    node[last] = _merge(node.get(last) or {}, sub)
            if pos < len(spec) and spec[pos] == ",":
                pos += 1
                continue
            return tree

    tree = parse_list()
    if pos != len(spec):
        raise FieldsError(f"unexpected {spec[pos]!r} in fields")
    return tree


def _merge(a: dict, b: dict) -> dict:
    out = dict(a)
    for key, value in b.items():
        if key in out and out[key] is not None and value is not None:
            out[key] = _merge(out[key], value)
        else:
            out[key] = None if (key in out and out[key] is None) or value is None else value
    return out


def apply_fields(tree: dict, value: Any) -> Any:
    if isinstance(value, list):
        return [apply_fields(tree, v) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in tree:
        return value
    out = {}
    for key, sub in tree.items():
        if key in value:
            out[key] = value[key] if sub is None else apply_fields(sub, value[key])
    return out


# --- the data, indexed ---------------------------------------------------------------------------


def _ts(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


@dataclasses.dataclass
class _Sorted:
    """Ids sorted newest first, with keys for bisecting on a time."""

    ids: list[str] = dataclasses.field(default_factory=list)
    keys: list[float] = dataclasses.field(default_factory=list)  # -timestamp, ascending

    def add(self, when: datetime | None, ident: str) -> None:
        self.ids.append(ident)
        self.keys.append(-_ts(when))

    def finish(self) -> None:
        order = sorted(range(len(self.ids)), key=lambda i: (self.keys[i], self.ids[i]))
        self.ids = [self.ids[i] for i in order]
        self.keys = [self.keys[i] for i in order]

    def start(self, now: datetime) -> int:
        """Index of the first (newest) id created at or before now."""
        return bisect.bisect_left(self.keys, -now.timestamp())


@dataclasses.dataclass
class _Index:
    channels: dict[str, dict]
    uploads: dict[str, str]
    videos: dict[str, dict]
    channel_videos: dict[str, _Sorted]
    threads: dict[str, dict]
    channel_threads: dict[str, _Sorted]
    video_threads: dict[str, _Sorted]
    replies: dict[str, list[dict]]  # thread id -> replies, newest first
    comments: dict[str, dict]  # replies by id


def _video_time(video: dict) -> datetime | None:
    return parse_time((video.get("snippet") or {}).get("publishedAt"))


def _comment_time(comment: dict) -> datetime | None:
    return parse_time((comment.get("snippet") or {}).get("publishedAt"))


def _top(thread: dict) -> dict:
    return (thread.get("snippet") or {}).get("topLevelComment") or {}


def _build_index(store: Store) -> _Index:
    channels = {c["id"]: c for c in store.records(PLATFORM, "channels") if c.get("id")}
    uploads = {}
    for channel in channels.values():
        playlist = ((channel.get("contentDetails") or {}).get("relatedPlaylists") or {}).get(
            "uploads"
        )
        if playlist:
            uploads[playlist] = channel["id"]
    videos: dict[str, dict] = {}
    channel_videos: dict[str, _Sorted] = {}
    for video in store.records(PLATFORM, "videos"):
        vid = video.get("id")
        if not vid:
            continue
        videos[vid] = video
        owner = (video.get("snippet") or {}).get("channelId", "")
        channel_videos.setdefault(owner, _Sorted()).add(_video_time(video), vid)
    threads: dict[str, dict] = {}
    channel_threads: dict[str, _Sorted] = {}
    video_threads: dict[str, _Sorted] = {}
    replies: dict[str, dict[str, dict]] = {}
    for thread in store.records(PLATFORM, "commentThreads"):
        tid = thread.get("id")
        if not tid:
            continue
        threads[tid] = thread
        snippet = thread.get("snippet") or {}
        when = _comment_time(_top(thread))
        video_id = snippet.get("videoId")
        owner = snippet.get("channelId") or ((videos.get(video_id) or {}).get("snippet") or {}).get(
            "channelId", ""
        )
        channel_threads.setdefault(owner, _Sorted()).add(when, tid)
        if video_id:
            video_threads.setdefault(video_id, _Sorted()).add(when, tid)
        for reply in (thread.get("replies") or {}).get("comments") or []:
            if reply.get("id"):
                replies.setdefault(tid, {})[reply["id"]] = reply
    for reply in store.records(PLATFORM, "comments"):
        parent = (reply.get("snippet") or {}).get("parentId")
        if parent and reply.get("id"):
            replies.setdefault(parent, {})[reply["id"]] = reply  # the file wins over embedded
    for sorted_ids in (
        *channel_videos.values(),
        *channel_threads.values(),
        *video_threads.values(),
    ):
        sorted_ids.finish()
    ordered = {
        tid: sorted(by_id.values(), key=lambda c: (-_ts(_comment_time(c)), c["id"]))
        for tid, by_id in replies.items()
    }
    comments = {c["id"]: c for group in ordered.values() for c in group}
    return _Index(
        channels,
        uploads,
        videos,
        channel_videos,
        threads,
        channel_threads,
        video_threads,
        ordered,
        comments,
    )


# --- the API -------------------------------------------------------------------------------------


class Api:
    """YouTube Data API v3 over a Store (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.units: dict[str, int] = {}
        self._lock = threading.Lock()
        self._index: tuple[tuple, _Index] | None = None

    # PlatformApi -----------------------------------------------------------------------------

    def endpoint(self, request: Request) -> str | None:
        if not request.path.startswith(PREFIX):
            return None
        name = request.path[len(PREFIX) :].strip("/").split("/")[0]
        return f"youtube.{name or 'root'}"

    def handle(self, request: Request, endpoint: str) -> Response:
        name = endpoint.split(".", 1)[1]
        if name not in METHODS or request.method != "GET":
            # search.list among them: 100 units a call, and never needed here.
            return error(404, "notFound", "Method not found.", domain="global", status="NOT_FOUND")
        refused = self._auth(request)
        if refused is not None:
            return refused
        with self._lock:
            self.units[endpoint] = self.units.get(endpoint, 0) + 1
        if not request.arg("part"):
            return error(400, "required", "Required parameter: part", status="INVALID_ARGUMENT")
        response = getattr(self, "_" + name)(request, self._data(), self.store.now())
        fields = request.arg("fields")
        if fields and response.status == 200:
            try:
                response.body = apply_fields(parse_fields(fields), response.body)
            except FieldsError as exc:
                return _bad_param("fields", f"Invalid field selection: {exc}")
        return response

    def fault(self, kind: str, request: Request, spec: dict) -> Response | None:
        if kind == "quota_exceeded":
            return error(403, "quotaExceeded", QUOTA_MESSAGE, domain="youtube.quota")
        if kind == "expired_token":
            return _unauthenticated()
        if kind in ("429", "429_noreset"):
            headers = (
                {"Retry-After": str(max(0, int(round(spec.get("seconds", 3)))))}
                if kind == "429"
                else {}
            )
            return error(
                429,
                "rateLimitExceeded",
                "Resource has been exhausted (e.g. check quota).",
                domain="global",
                status="RESOURCE_EXHAUSTED",
                headers=headers,
            )
        if kind == "malformed_json":
            return Response(
                200,
                b'{\n  "kind": "youtube#commentThreadListResponse",\n  "items": [\n    {"id": ',
                {"Content-Type": "application/json; charset=UTF-8"},
            )
        return None

    @property
    def total_units(self) -> int:
        return sum(self.units.values())

    # internals -------------------------------------------------------------------------------

    def _data(self) -> _Index:
        version = self.store.version()
        with self._lock:
            if self._index is None or self._index[0] != version:
                with building_index():
                    self._index = (version, _build_index(self.store))
            return self._index[1]

    def _auth(self, request: Request) -> Response | None:
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            if header[7:].strip() in ("", EXPIRED):
                return _unauthenticated()
            return None
        key = request.arg("key")
        if key == EXPIRED:
            return error(
                400,
                "badRequest",
                "API key expired. Please renew the API key.",
                domain="global",
                status="INVALID_ARGUMENT",
                details=[
                    {
                        "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                        "reason": "API_KEY_INVALID",
                        "domain": "googleapis.com",
                    }
                ],
            )
        if not key:
            return error(
                403,
                "forbidden",
                "The request is missing a valid API key.",
                domain="global",
                status="PERMISSION_DENIED",
            )
        return None

    # channels.list ---------------------------------------------------------------------------

    def _channels(self, request: Request, data: _Index, now: datetime) -> Response:
        ids = _id_list(request.arg("id"))
        if not ids and request.arg("forHandle"):
            handle = request.arg("forHandle").lstrip("@").lower()
            ids = [
                cid
                for cid, c in data.channels.items()
                if (c.get("snippet") or {}).get("customUrl", "").lstrip("@").lower() == handle
            ]
        if not ids:
            return error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: forHandle, id, mine, forUsername",
                status="INVALID_ARGUMENT",
            )
        parts = _parts(request)
        items = [_select(public(data.channels[c]), parts) for c in ids if c in data.channels]
        return _list(
            "youtube#channelListResponse", items, {"totalResults": len(items), "resultsPerPage": 5}
        )

    # playlistItems.list ----------------------------------------------------------------------

    def _playlistItems(self, request: Request, data: _Index, now: datetime) -> Response:
        playlist = request.arg("playlistId")
        if not playlist:
            return error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, playlistId",
                status="INVALID_ARGUMENT",
            )
        channel = data.uploads.get(playlist)
        if channel is None:
            return error(
                404,
                "playlistNotFound",
                "The playlist identified with the request's "
                "<code>playlistId</code> parameter cannot be found.",
                domain="youtube.playlistItem",
                status="NOT_FOUND",
            )
        size = _max_results(request, "playlistItems")
        if isinstance(size, Response):
            return size
        ids = data.channel_videos.get(channel, _Sorted())

        def visible(vid: str) -> bool:
            video = data.videos[vid]
            return is_visible(video, _video_time(video), now)

        page = _page(request, ids, now, size, visible)
        if isinstance(page, Response):
            return page
        chosen, next_offset, first = page
        parts = _parts(request)
        items = []
        for position, vid in enumerate(chosen, start=first):
            video = _video(data.videos[vid], now)
            snippet = video.get("snippet") or {}
            item = {
                "kind": "youtube#playlistItem",
                "etag": _etag("pi", playlist, video),
                "id": b64id(f"{playlist}/{vid}", 48),
                "snippet": {
                    "publishedAt": snippet.get("publishedAt"),
                    "channelId": snippet.get("channelId"),
                    "title": snippet.get("title", ""),
                    "description": snippet.get("description", ""),
                    "thumbnails": snippet.get("thumbnails", {}),
                    "channelTitle": snippet.get("channelTitle", ""),
                    "playlistId": playlist,
                    "position": position,
                    "resourceId": {"kind": "youtube#video", "videoId": vid},
                    "videoOwnerChannelTitle": snippet.get("channelTitle", ""),
                    "videoOwnerChannelId": snippet.get("channelId"),
                },
                "contentDetails": {"videoId": vid, "videoPublishedAt": snippet.get("publishedAt")},
                "status": {"privacyStatus": "public"},
            }
            items.append(_select(item, parts))
        return _list(
            "youtube#playlistItemListResponse",
            items,
            {"totalResults": max(0, len(ids.ids) - ids.start(now)), "resultsPerPage": size},
            next_offset,
        )

    # videos.list -----------------------------------------------------------------------------

    def _videos(self, request: Request, data: _Index, now: datetime) -> Response:
        if request.arg("chart") or request.arg("myRating"):
            return _bad_param("chart", "The sandbox serves videos.list by id only.")
        ids = _id_list(request.arg("id"))
        if not ids:
            return error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: chart, id, myRating",
                status="INVALID_ARGUMENT",
            )
        if len(ids) > 50:
            return _bad_param("id", "The request specifies more than 50 video ids.")
        parts = _parts(request)
        items = []
        for vid in ids:
            video = data.videos.get(vid)
            if video is not None and is_visible(video, _video_time(video), now):
                items.append(_select(_video(video, now), parts))
        return _list(
            "youtube#videoListResponse",
            items,
            {"totalResults": len(items), "resultsPerPage": len(items)},
        )

    # commentThreads.list ---------------------------------------------------------------------

    def _commentThreads(self, request: Request, data: _Index, now: datetime) -> Response:
        filters = [
            f
            for f in ("allThreadsRelatedToChannelId", "channelId", "videoId", "id")
            if request.arg(f)
        ]
        if len(filters) != 1:
            return error(
                400,
                "missingRequiredParameter" if not filters else "incompatibleParameters",
                "Specify exactly one of: allThreadsRelatedToChannelId, channelId, id, videoId",
                status="INVALID_ARGUMENT",
            )
        text_format = request.arg("textFormat", "html")
        if text_format not in ("html", "plainText"):
            return _bad_param("textFormat")
        if request.arg("order", "time") not in ("time", "relevance"):
            return _bad_param("order")
        parts = _parts(request)
        how = filters[0]

        def visible(tid: str) -> bool:
            return self._thread_visible(data, tid, now)

        if how == "id":
            chosen = [t for t in _id_list(request.arg("id")) if t in data.threads and visible(t)]
            next_offset = None
        else:
            if how == "videoId":
                video = data.videos.get(request.arg("videoId"))
                if video is None or not is_visible(video, _video_time(video), now):
                    return error(
                        404,
                        "videoNotFound",
                        "The video identified by the <code>videoId"
                        "</code> parameter could not be found.",
                        domain="youtube.commentThread",
                        status="NOT_FOUND",
                    )
                ids = data.video_threads.get(request.arg("videoId"), _Sorted())
            else:
                channel = request.arg(how)
                if channel not in data.channels:
                    return error(
                        404,
                        "channelNotFound",
                        "The channel identified by the <code>"
                        f"{how}</code> parameter could not be found.",
                        domain="youtube.commentThread",
                        status="NOT_FOUND",
                    )
                ids = data.channel_threads.get(channel, _Sorted())
                if how == "channelId":  # only comments about the channel itself
                    kept = _Sorted()
                    for tid, key in zip(ids.ids, ids.keys):
                        if not (data.threads[tid].get("snippet") or {}).get("videoId"):
                            kept.ids.append(tid)
                            kept.keys.append(key)
                    ids = kept
            size = _max_results(request, "commentThreads")
            if isinstance(size, Response):
                return size
            terms = (request.arg("searchTerms") or "").lower()
            check = visible
            if terms:

                def check(tid: str) -> bool:  # noqa: F811 - narrowed filter
                    return visible(tid) and terms in _text_of(_top(data.threads[tid]), now).lower()

            page = _page(request, ids, now, size, check)
            if isinstance(page, Response):
                return page
            chosen, next_offset, _ = page
        items = [
            _select(self._thread(data, tid, now, text_format, "replies" in parts), parts)
            for tid in chosen
        ]
        return _list(
            "youtube#commentThreadListResponse",
            items,
            {"totalResults": len(items), "resultsPerPage": int(request.arg("maxResults") or 20)},
            next_offset,
        )

    def _thread_visible(self, data: _Index, tid: str, now: datetime) -> bool:
        thread = data.threads[tid]
        top = _top(thread)
        if not is_visible(thread, _comment_time(top), now) or not is_visible(top, None, now):
            return False
        video = data.videos.get((thread.get("snippet") or {}).get("videoId") or "")
        return video is None or is_visible(video, _video_time(video), now)

    def _visible_replies(self, data: _Index, tid: str, now: datetime) -> list[dict]:
        return [c for c in data.replies.get(tid, ()) if is_visible(c, _comment_time(c), now)]

    def _thread(
        self, data: _Index, tid: str, now: datetime, text_format: str, with_replies: bool
    ) -> dict:
        thread = public(data.threads[tid])
        snippet = dict(thread.get("snippet") or {})
        snippet["topLevelComment"] = _comment(_top(data.threads[tid]), now, text_format)
        replies = self._visible_replies(data, tid, now)
        snippet["totalReplyCount"] = len(replies)
        thread["snippet"] = snippet
        thread.pop("replies", None)
        if with_replies and replies:
            thread["replies"] = {
                "comments": [_comment(c, now, text_format) for c in replies[:REPLIES_CARRIED]]
            }
        thread["etag"] = _etag("ct", thread)
        return thread

    # comments.list ---------------------------------------------------------------------------

    def _comments(self, request: Request, data: _Index, now: datetime) -> Response:
        text_format = request.arg("textFormat", "html")
        if text_format not in ("html", "plainText"):
            return _bad_param("textFormat")
        parts = _parts(request)
        parent = request.arg("parentId")
        if request.arg("id"):
            chosen = []
            for cid in _id_list(request.arg("id")):
                comment = data.comments.get(cid)
                if comment is None and cid in data.threads and self._thread_visible(data, cid, now):
                    comment = _top(data.threads[cid])
                if comment is not None and is_visible(comment, _comment_time(comment), now):
                    chosen.append(comment)
            items = [_select(_comment(c, now, text_format), parts) for c in chosen]
            return _list("youtube#commentListResponse", items, {"resultsPerPage": len(items)})
        if not parent:
            return error(
                400,
                "missingRequiredParameter",
                "No filter selected. Expected one of: id, parentId",
                status="INVALID_ARGUMENT",
            )
        if parent not in data.threads or not self._thread_visible(data, parent, now):
            return error(
                404,
                "commentNotFound",
                "The comment identified by the <code>parentId</code> parameter could not be found.",
                domain="youtube.comment",
                status="NOT_FOUND",
            )
        size = _max_results(request, "comments")
        if isinstance(size, Response):
            return size
        replies = self._visible_replies(data, parent, now)
        offset = 0
        if request.arg("pageToken"):
            state = decode_token(TOKEN_PREFIX, request.arg("pageToken"))
            if state is None:
                return _bad_page_token()
            offset = int(state.get("o", 0))
        chosen = replies[offset : offset + size]
        next_offset = offset + size if offset + size < len(replies) else None
        items = [_select(_comment(c, now, text_format), parts) for c in chosen]
        return _list("youtube#commentListResponse", items, {"resultsPerPage": size}, next_offset)


# --- rendering helpers ------------------------------------------------------------------------


def _unauthenticated() -> Response:
    return error(
        401,
        "authError",
        "Request had invalid authentication credentials. Expected "
        "OAuth 2 access token, login cookie or other valid authentication credential.",
        domain="global",
        status="UNAUTHENTICATED",
    )


def _bad_page_token() -> Response:
    return error(
        400,
        "invalidPageToken",
        "The request specifies an invalid page token.",
        status="INVALID_ARGUMENT",
    )


def _id_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _parts(request: Request) -> set[str]:
    return set(_id_list(request.arg("part")))


def _select(obj: dict, parts: set[str]) -> dict:
    return {k: v for k, v in obj.items() if k in ("kind", "etag", "id") or k in parts}


def _max_results(request: Request, method: str) -> int | Response:
    low, high, default = MAX_RESULTS[method]
    raw = request.arg("maxResults")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        return _bad_param("maxResults")
    if not low <= value <= high:
        return _bad_param(
            "maxResults", f"Invalid value '{raw}'. Values must be within the range: [{low}, {high}]"
        )
    return value


def _page(
    request: Request, ids: _Sorted, now: datetime, size: int, visible
) -> tuple[list[str], int | None, int] | Response:
    """One page of `ids` (newest first) visible at now, from the page token's offset."""
    token = request.arg("pageToken")
    start = ids.start(now)
    if token:
        state = decode_token(TOKEN_PREFIX, token)
        if state is None:
            return _bad_page_token()
        start = max(start, int(state.get("o", 0)))
    chosen: list[str] = []
    i = start
    while i < len(ids.ids) and len(chosen) < size:
        if visible(ids.ids[i]):
            chosen.append(ids.ids[i])
        i += 1
    while i < len(ids.ids) and not visible(ids.ids[i]):
        i += 1
    return chosen, (i if i < len(ids.ids) else None), start


def _list(
    kind: str, items: list[dict], page_info: dict, next_offset: int | None = None
) -> Response:
    body: dict[str, Any] = {
        "kind": kind,
        "etag": _etag(kind, [i.get("etag") for i in items], next_offset),
    }
    if next_offset is not None:
        body["nextPageToken"] = encode_token(TOKEN_PREFIX, {"o": next_offset})
    body["pageInfo"] = page_info
    body["items"] = items
    return Response(200, body)


def _etag(*parts: Any) -> str:
    return b64id(json.dumps(parts, sort_keys=True, default=str), 27)


def _text_of(comment: dict, now: datetime) -> str:
    snippet = comment.get("snippet") or {}
    original = snippet.get("textOriginal")
    if original is None:
        original = html.unescape(re.sub(r"<br\s*/?>", "\n", snippet.get("textDisplay", "")))
    return text_at(comment, original, now)[0]


def _comment(comment: dict, now: datetime, text_format: str) -> dict:
    out = public(comment)
    snippet = dict(out.get("snippet") or {})
    original = snippet.get("textOriginal")
    if original is None:
        original = html.unescape(re.sub(r"<br\s*/?>", "\n", snippet.get("textDisplay", "")))
    text, edited = text_at(comment, original, now)
    snippet["textOriginal"] = text
    snippet["textDisplay"] = (
        html.escape(text, quote=True).replace("\n", "<br>") if text_format == "html" else text
    )
    if edited is not None:
        snippet["updatedAt"] = _iso(edited)
    out["snippet"] = snippet
    out["etag"] = _etag("c", out["id"], text, snippet.get("updatedAt"))
    return out


def _video(video: dict, now: datetime) -> dict:
    out = public(video)
    snippet = dict(out.get("snippet") or {})
    description, edited = text_at(video, snippet.get("description", ""), now)
    if edited is not None:
        snippet["description"] = description
        if isinstance(snippet.get("localized"), dict):
            snippet["localized"] = {**snippet["localized"], "description": description}
    out["snippet"] = snippet
    out["etag"] = _etag("v", out)
    return out


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- rendering scenario threads as native objects -------------------------------------------------


def channel_id_for(author_id: str) -> str:
    """A stable YouTube channel id for a scenario author."""
    return "UC" + b64id("channel:" + author_id, 22)


def video_id_for(key: str) -> str:
    return b64id("video:" + key, 11)


def thread_id_for(key: str) -> str:
    return "Ugx" + b64id("thread:" + key, 16) + "4AaABAg"


def reply_id_for(thread_id: str, key: str) -> str:
    return f"{thread_id}.{b64id('reply:' + key, 22)}"


def _handle_for(name: str, author_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]", "", name)[:20] or "user"
    return f"@{slug}-{int.from_bytes(digest(author_id, size=4), 'big') % 10000:04d}"


def _title(text: str) -> str:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0]
    return first if len(first) <= 100 else first[:99].rstrip() + "…"


def _private(message, extra: dict | None = None) -> dict:
    data: dict[str, Any] = {"key": message.key}
    if message.edits:
        data["edits"] = [{"at": _iso(e.at), "text": e.text} for e in message.edits]
    data["deleted_at"] = _iso(message.deleted_at) if message.deleted_at else None
    if extra:
        data.update(extra)
    return data


def render(threads: Iterable, out_dir: Path) -> dict[str, int]:
    """Write the YouTube threads of a scenario as native objects under out_dir/youtube/.

    A thread's root is a video on the council's channel; replies to the root are top-level
    comments (each its own commentThread); deeper replies join the thread of their top-level
    ancestor, as YouTube has only one level of replies.

    Returns the number of objects written per file, e.g. {"youtube/videos": 12}.
    """
    folder = Path(out_dir) / PLATFORM
    folder.mkdir(parents=True, exist_ok=True)
    channels: dict[str, dict] = {}
    counts = {
        f"{PLATFORM}/{name}": 0 for name in ("channels", "videos", "commentThreads", "comments")
    }
    handles = {
        name: (folder / f"{name}.jsonl").open("w", encoding="utf-8")
        for name in ("videos", "commentThreads", "comments")
    }
    try:
        for thread in threads:
            if thread.platform != PLATFORM:
                continue
            channel = thread.account_id
            channel_handle = "@" + (thread.account_handle or "channel").lower()
            if channel not in channels:
                channels[channel] = {
                    "kind": "youtube#channel",
                    "etag": _etag("channel", channel),
                    "id": channel,
                    "snippet": {
                        "title": thread.account_name,
                        "description": "",
                        "customUrl": channel_handle,
                        "publishedAt": "2011-03-01T09:00:00Z",
                        "country": "GB",
                    },
                    "contentDetails": {
                        "relatedPlaylists": {"likes": "", "uploads": "UU" + channel[2:]}
                    },
                }
            root = thread.root
            vid = video_id_for(root.key)
            flags = root.flags or {}
            paid = bool(flags.get("paid_product_placement") or flags.get("paid_partnership"))
            published = _iso(root.created_at)
            video = {
                "kind": "youtube#video",
                "etag": _etag("video", root.key),
                "id": vid,
                "snippet": {
                    "publishedAt": published,
                    "channelId": channel,
                    "title": _title(root.text),
                    "description": root.text,
                    "thumbnails": {
                        "default": {
                            "url": f"https://i.ytimg.com/vi/{vid}/default.jpg",
                            "width": 120,
                            "height": 90,
                        }
                    },
                    "channelTitle": thread.account_name,
                    "categoryId": "25",
                    "liveBroadcastContent": "none",
                    "defaultAudioLanguage": "en-GB",
                },
                "status": {
                    "uploadStatus": "processed",
                    "privacyStatus": "public",
                    "madeForKids": False,
                },
                "paidProductPlacementDetails": {"hasPaidProductPlacement": paid},
                "_sandbox": _private(root),
            }
            write_json_line(handles["videos"], video)
            counts[f"{PLATFORM}/videos"] += 1

            by_key = {m.key: m for m in thread.replies}

            def top_of(message, by_key=by_key):
                seen = set()
                while message.parent in by_key and message.parent not in seen:
                    seen.add(message.parent)
                    message = by_key[message.parent]
                return message

            groups: dict[str, list] = {}
            order: list[str] = []
            for message in thread.replies:
                top = top_of(message)
                if top.key not in groups:
                    groups[top.key] = []
                    order.append(top.key)
                if top is not message:
                    groups[top.key].append(message)
            for top_key in order:
                top = by_key[top_key]
                tid = thread_id_for(top.key)
                top_comment = _native_comment(top, tid, vid, channel, channel_handle, None)
                replies = []
                for message in sorted(groups[top_key], key=lambda m: m.created_at, reverse=True):
                    replies.append(
                        _native_comment(
                            message,
                            reply_id_for(tid, message.key),
                            vid,
                            channel,
                            channel_handle,
                            tid,
                        )
                    )
                thread_obj = {
                    "kind": "youtube#commentThread",
                    "etag": _etag("thread", top.key),
                    "id": tid,
                    "snippet": {
                        "channelId": channel,
                        "videoId": vid,
                        "topLevelComment": top_comment,
                        "canReply": True,
                        "totalReplyCount": len(replies),
                        "isPublic": True,
                    },
                }
                if replies:
                    thread_obj["replies"] = {"comments": replies[:REPLIES_CARRIED]}
                write_json_line(handles["commentThreads"], thread_obj)
                counts[f"{PLATFORM}/commentThreads"] += 1
                for reply in replies:
                    write_json_line(handles["comments"], reply)
                    counts[f"{PLATFORM}/comments"] += 1
    finally:
        for handle in handles.values():
            handle.close()
    with (folder / "channels.jsonl").open("w", encoding="utf-8") as handle:
        for channel in channels.values():
            write_json_line(handle, channel)
    counts[f"{PLATFORM}/channels"] = len(channels)
    return counts


def _native_comment(
    message,
    comment_id: str,
    video_id: str,
    channel: str,
    channel_handle: str,
    parent_id: str | None,
) -> dict:
    if message.is_own:
        author_channel, author_name = channel, channel_handle
    else:
        author_channel = channel_id_for(message.author_id)
        author_name = _handle_for(message.author_name, message.author_id)
    published = _iso(message.created_at)
    snippet: dict[str, Any] = {
        "channelId": channel,
        "videoId": video_id,
        "textDisplay": html.escape(message.text, quote=True).replace("\n", "<br>"),
        "textOriginal": message.text,
        "authorDisplayName": author_name,
        "authorProfileImageUrl": f"https://yt3.ggpht.com/ytc/{b64id(author_channel, 20)}=s48-c-k-c0x00ffffff-no-rj",
        "authorChannelUrl": f"http://www.youtube.com/{author_name}",
        "authorChannelId": {"value": author_channel},
        "canRate": True,
        "viewerRating": "none",
        "likeCount": 0,
        "publishedAt": published,
        "updatedAt": published,
    }
    if parent_id:
        snippet["parentId"] = parent_id
    return {
        "kind": "youtube#comment",
        "etag": _etag("comment", message.key),
        "id": comment_id,
        "snippet": snippet,
        "_sandbox": _private(message),
    }
