"""The sandbox's X API v2: user timelines, mentions, recent search and user lookup.

Data files (JSON Lines, one native object a line; see docs/sandbox.md):

    DIR/twitter/tweets.jsonl   v2 Tweet objects with every field the API can return
                               (id, text, author_id, created_at, conversation_id,
                               in_reply_to_user_id, referenced_tweets, entities, ...)
    DIR/twitter/users.jsonl    v2 User objects (id, name, username, ...)

Endpoints (GET):

    /2/users/:id/tweets          twitter.users_tweets
    /2/users/:id/mentions        twitter.users_mentions  (tweets whose entities.mentions
                                                          name the user, not by the user)
    /2/tweets/search/recent      twitter.search_recent   (last 7 days of the clock; query
                                                          operators conversation_id:, from:,
                                                          to: (username or id), @user, is:reply, is:retweet,
                                                          is:quote, words, -, OR, parentheses)
    /2/users/by/username/:name   twitter.users_by_username
    /2/users/:id                 twitter.users
    /2/users/me                  twitter.users_me        (403 with an app-only bearer, as X)

Parameters as X documents them: since_id, until_id, start_time, end_time, max_results
(timelines 5-100, search 10-100), pagination_token (timelines) / next_token (search),
tweet.fields, expansions (author_id, referenced_tweets.id, in_reply_to_user_id,
entities.mentions.username, referenced_tweets.id.author_id), user.fields. Responses carry
data, includes.users/tweets and meta (result_count, newest_id, oldest_id, next_token), and
the x-rate-limit-limit/remaining/reset headers of a 15-minute window (counted, not enforced:
switch on the "429" fault to refuse).

Auth: `Authorization: Bearer <token>` is required (401 otherwise); the literal token
"expired" is refused with X's 401 body, so tests can simulate an expired token.
"""

from __future__ import annotations

import bisect
import dataclasses
import heapq
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from sandbox.native import (
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

PLATFORM = "twitter"
TWITTER_EPOCH_MS = 1288834974657
SEARCH_WINDOW = timedelta(days=7)
QUERY_MAX_CHARS = 512  # the self-serve (Basic) limit for search/recent queries
TOKEN_PREFIX = "7140dibdnow9c7btw"
EXPIRED = "expired"
RATE_LIMITS = {
    "twitter.users_tweets": 1500,
    "twitter.users_mentions": 450,
    "twitter.search_recent": 450,
    "twitter.users_by_username": 300,
    "twitter.users": 300,
    "twitter.users_me": 75,
}
TWEET_FIELDS = {
    "attachments",
    "author_id",
    "card_uri",
    "context_annotations",
    "conversation_id",
    "created_at",
    "edit_controls",
    "edit_history_tweet_ids",
    "entities",
    "geo",
    "id",
    "in_reply_to_user_id",
    "lang",
    "note_tweet",
    "possibly_sensitive",
    "public_metrics",
    "referenced_tweets",
    "reply_settings",
    "source",
    "text",
    "withheld",
}
USER_FIELDS = {
    "created_at",
    "description",
    "entities",
    "id",
    "location",
    "name",
    "pinned_tweet_id",
    "profile_image_url",
    "protected",
    "public_metrics",
    "url",
    "username",
    "verified",
    "verified_type",
    "withheld",
}
EXPANSIONS = {
    "author_id",
    "referenced_tweets.id",
    "in_reply_to_user_id",
    "entities.mentions.username",
    "referenced_tweets.id.author_id",
}
MENTION = re.compile(r"(?<![\w@])@(\w{1,15})")


# --- ids and time -------------------------------------------------------------------------------


def snowflake(created: datetime, seed: str) -> str:
    """An X-style id: milliseconds since the X epoch, then 22 bits from the seed."""
    ms = int(created.timestamp() * 1000) - TWITTER_EPOCH_MS
    return str((ms << 22) | (int.from_bytes(digest(seed, size=4), "big") & 0x3FFFFF))


def snowflake_time(tweet_id: str | int) -> datetime:
    """When an X id was minted (ids are snowflakes since 2010)."""
    ms = (int(tweet_id) >> 22) + TWITTER_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, timezone.utc)


def iso(value: datetime) -> str:
    value = value.astimezone(timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# --- errors in X's shape ---------------------------------------------------------------------------


def _invalid(parameter: str, value: Any, message: str) -> Response:
    return Response(
        400,
        {
            "errors": [{"parameters": {parameter: [str(value)]}, "message": message}],
            "title": "Invalid Request",
            "detail": "One or more parameters to your request was invalid.",
            "type": "https://api.twitter.com/2/problems/invalid-request",
        },
    )


def _unauthorized() -> Response:
    return Response(
        401,
        {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"},
    )


def _too_many(headers: dict) -> Response:
    return Response(
        429,
        {
            "title": "Too Many Requests",
            "detail": "Too Many Requests",
            "type": "about:blank",
            "status": 429,
        },
        headers,
    )


# --- the data, indexed ----------------------------------------------------------------------------


@dataclasses.dataclass
class _Ids:
    """Tweet ids, newest first (by numeric id)."""

    ids: list[str] = dataclasses.field(default_factory=list)
    keys: list[int] = dataclasses.field(default_factory=list)  # -id, ascending

    @classmethod
    def of(cls, ids: list[str]) -> _Ids:
        keyed = sorted((-int(t), t) for t in ids)
        return cls([t for _, t in keyed], [k for k, _ in keyed])

    def below(self, bound: int | None) -> int:
        """Index of the first id strictly below `bound` (None: 0)."""
        return 0 if bound is None else bisect.bisect_right(self.keys, -bound)


@dataclasses.dataclass
class _Index:
    tweets: dict[str, dict]
    users: dict[str, dict]
    by_username: dict[str, dict]
    authored: dict[str, _Ids]
    mentioning: dict[str, _Ids]
    conversations: dict[str, _Ids]
    everything: _Ids


def _mentioned_usernames(tweet: dict) -> list[str]:
    mentions = (tweet.get("entities") or {}).get("mentions")
    if mentions is None:
        return MENTION.findall(tweet.get("text", ""))
    return [m.get("username", "") for m in mentions]


def _build_index(store: Store) -> _Index:
    users = {u["id"]: u for u in store.records(PLATFORM, "users") if u.get("id")}
    by_username = {u.get("username", "").lower(): u for u in users.values()}
    tweets: dict[str, dict] = {}
    authored: dict[str, list[str]] = {}
    mentioning: dict[str, list[str]] = {}
    conversations: dict[str, list[str]] = {}
    for tweet in store.records(PLATFORM, "tweets"):
        tid = tweet.get("id")
        if not tid:
            continue
        tweets[tid] = tweet
        author = tweet.get("author_id", "")
        _append(authored, author, tid)
        _append(conversations, tweet.get("conversation_id") or tid, tid)
        named = None
        for username in _mentioned_usernames(tweet):
            user = by_username.get(username.lower())
            if user and user["id"] != author and (named is None or user["id"] not in named):
                named = named or set()
                named.add(user["id"])
                _append(mentioning, user["id"], tid)

    def finish(groups: dict[str, list[str]]) -> dict[str, _Ids]:
        return {key: _Ids.of(ids) for key, ids in groups.items()}

    return _Index(
        tweets,
        users,
        by_username,
        finish(authored),
        finish(mentioning),
        finish(conversations),
        _Ids.of(list(tweets)),
    )


def _append(groups: dict[str, list[str]], key: str, value: str) -> None:
    group = groups.get(key)
    if group is None:
        groups[key] = [value]
    else:
        group.append(value)


# --- search queries ----------------------------------------------------------------------------------


class QueryError(ValueError):
    pass


@dataclasses.dataclass
class _Node:
    op: str  # or | and | not | atom
    children: list[_Node] = dataclasses.field(default_factory=list)
    key: str = ""
    value: str = ""


def parse_query(query: str) -> _Node:
    tokens = re.findall(r'\(|\)|-?"[^"]*"|[^\s()]+', query)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def parse_or() -> _Node:
        nonlocal pos
        parts = [parse_and()]
        while peek() == "OR":
            pos += 1
            parts.append(parse_and())
        return parts[0] if len(parts) == 1 else _Node("or", parts)

    def parse_and() -> _Node:
        parts = []
        while peek() not in (None, ")", "OR"):
            parts.append(parse_term())
        if not parts:
            raise QueryError("empty clause")
        return parts[0] if len(parts) == 1 else _Node("and", parts)

    def parse_term() -> _Node:
        nonlocal pos
        token = tokens[pos]
        pos += 1
        negate = token.startswith("-") and len(token) > 1
        if negate:
            token = token[1:]
        if token == "(":
            node = parse_or()
            if peek() != ")":
                raise QueryError("missing )")
            pos += 1
        elif token.startswith("@"):
            node = _Node("atom", key="mention", value=token[1:].lower())
        elif ":" in token and not token.startswith('"'):
            key, _, value = token.partition(":")
            if key not in ("conversation_id", "from", "to", "is") or not value:
                raise QueryError(f"unsupported operator {key}:")
            if key == "is" and value not in ("reply", "retweet", "quote"):
                raise QueryError(f"unsupported operator is:{value}")
            node = _Node("atom", key=key, value=value.lower())
        else:
            node = _Node("atom", key="word", value=token.strip('"').lower())
        return _Node("not", [node]) if negate else node

    node = parse_or()
    if pos != len(tokens):
        raise QueryError(f"unexpected {tokens[pos]!r}")
    return node


# --- the API ------------------------------------------------------------------------------------------


class Api:
    """X API v2 over a Store (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._index: tuple[tuple, _Index] | None = None
        self._windows: dict[str, tuple[int, int]] = {}  # endpoint -> (window reset, used)

    # PlatformApi -----------------------------------------------------------------------------

    def endpoint(self, request: Request) -> str | None:
        path = request.path.rstrip("/")
        if not path.startswith("/2/"):
            return None
        parts = path.split("/")[2:]
        if parts[:2] == ["tweets", "search"] and parts[2:] == ["recent"]:
            return "twitter.search_recent"
        if parts and parts[0] == "users":
            if parts[1:2] == ["me"] and len(parts) == 2:
                return "twitter.users_me"
            if parts[1:3] == ["by", "username"] and len(parts) == 4:
                return "twitter.users_by_username"
            if len(parts) == 3 and parts[2] in ("tweets", "mentions"):
                return f"twitter.users_{parts[2]}"
            if len(parts) == 2:
                return "twitter.users"
        return "twitter.unknown"

    def handle(self, request: Request, endpoint: str) -> Response:
        if endpoint == "twitter.unknown" or request.method != "GET":
            return Response(
                404, {"errors": [{"message": "Sorry, that page does not exist", "code": 34}]}
            )
        token = request.headers.get("authorization", "")
        if not token.lower().startswith("bearer ") or token[7:].strip() in ("", EXPIRED):
            return _unauthorized()
        headers = self._rate_headers(endpoint)
        data = self._data()
        now = self.store.now()
        parts = request.path.rstrip("/").split("/")
        if endpoint == "twitter.users_me":
            response = Response(
                403,
                {
                    "title": "Unsupported Authentication",
                    "type": "https://api.twitter.com/2/problems/unsupported-authentication",
                    "status": 403,
                    "detail": "Authenticating with OAuth 2.0 Application-Only is forbidden for this "
                    "endpoint.  Supported authentication types are [OAuth 1.0a User "
                    "Context, OAuth 2.0 User Context].",
                },
            )
        elif endpoint == "twitter.users_by_username":
            response = self._user(
                request, data, data.by_username.get(parts[-1].lower()), parts[-1], "username"
            )
        elif endpoint == "twitter.users":
            response = self._user(request, data, data.users.get(parts[-1]), parts[-1], "id")
        elif endpoint == "twitter.search_recent":
            response = self._search(request, data, now)
        else:
            response = self._timeline(request, data, now, parts[3], parts[4])
        response.headers.update(headers)
        return response

    def fault(self, kind: str, request: Request, spec: dict) -> Response | None:
        if kind == "429":
            reset = int(time.time() + float(spec.get("seconds", 3)))
            return _too_many(
                {
                    "x-rate-limit-limit": "450",
                    "x-rate-limit-remaining": "0",
                    "x-rate-limit-reset": str(reset),
                }
            )
        if kind == "429_noreset":
            return _too_many({})
        if kind == "expired_token":
            return _unauthorized()
        if kind == "malformed_json":
            return Response(
                200,
                b'{"data":[{"id":"1364398068313903104","text":"@Brack',
                {"Content-Type": "application/json; charset=utf-8"},
            )
        return None

    # internals -------------------------------------------------------------------------------

    def _data(self) -> _Index:
        version = self.store.version()
        with self._lock:
            if self._index is None or self._index[0] != version:
                with building_index():
                    self._index = (version, _build_index(self.store))
            return self._index[1]

    def _rate_headers(self, endpoint: str) -> dict[str, str]:
        limit = RATE_LIMITS.get(endpoint, 300)
        now = int(time.time())
        with self._lock:
            reset, used = self._windows.get(endpoint, (0, 0))
            if now >= reset:
                reset, used = now + 900, 0
            used += 1
            self._windows[endpoint] = (reset, used)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str(reset),
        }

    def _fields(self, request: Request) -> tuple[set[str], set[str], set[str]] | Response:
        chosen = []
        for name, allowed in (
            ("tweet.fields", TWEET_FIELDS),
            ("expansions", EXPANSIONS),
            ("user.fields", USER_FIELDS),
        ):
            values = {v.strip() for v in (request.arg(name) or "").split(",") if v.strip()}
            wrong = sorted(values - allowed)
            if wrong:
                return _invalid(
                    name,
                    ",".join(wrong),
                    f"The `{name}` query parameter value [{wrong[0]}] is not one of "
                    f"[{','.join(sorted(allowed))}]",
                )
            chosen.append(values)
        return chosen[0], chosen[1], chosen[2]

    def _user(
        self, request: Request, data: _Index, user: dict | None, value: str, parameter: str
    ) -> Response:
        fields = self._fields(request)
        if isinstance(fields, Response):
            return fields
        if user is None:
            return Response(
                200,
                {
                    "errors": [
                        {
                            "value": value,
                            "detail": f"Could not find user with {parameter}: [{value}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": parameter,
                            "resource_id": value,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                },
            )
        return Response(200, {"data": _user_view(user, fields[2])})

    def _timeline(
        self, request: Request, data: _Index, now: datetime, user_id: str, which: str
    ) -> Response:
        if user_id not in data.users:
            return Response(
                200,
                {
                    "errors": [
                        {
                            "value": user_id,
                            "detail": f"Could not find user with id: [{user_id}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "id",
                            "resource_id": user_id,
                            "type": "https://api.twitter.com/2/problems/resource-not-found",
                        }
                    ]
                },
            )
        group = (data.authored if which == "tweets" else data.mentioning).get(user_id, _Ids())
        exclude = {v.strip() for v in (request.arg("exclude") or "").split(",") if v.strip()}
        if exclude - {"retweets", "replies"}:
            return _invalid(
                "exclude",
                request.arg("exclude"),
                "The `exclude` query parameter value is not one of [replies,retweets]",
            )

        def keep(tweet: dict) -> bool:
            refs = {r.get("type") for r in tweet.get("referenced_tweets") or []}
            return not (
                ("replies" in exclude and "replied_to" in refs)
                or ("retweets" in exclude and "retweeted" in refs)
            )

        return self._page(
            request, data, now, [group], keep, (5, 100), "pagination_token", earliest=None
        )

    def _search(self, request: Request, data: _Index, now: datetime) -> Response:
        query = request.arg("query")
        if not query:
            return _invalid("query", "", "The `query` query parameter can not be empty")
        if len(query) > QUERY_MAX_CHARS:
            return _invalid(
                "query",
                query,
                f"There were errors processing your request: Your "
                f"query is too long (max {QUERY_MAX_CHARS} characters)",
            )
        try:
            node = parse_query(query)
        except QueryError as exc:
            return _invalid("query", query, f"There were errors processing your request: {exc}")
        earliest = now - SEARCH_WINDOW
        start = request.arg("start_time")
        if start:
            try:
                start_dt = parse_time(start)
            except ValueError:
                return _invalid("start_time", start, "Invalid 'start_time'")
            if start_dt < earliest:
                return _invalid(
                    "start_time",
                    start,
                    f"Invalid 'start_time':'{start}'. 'start_time' must be on or after "
                    f"{earliest.strftime('%Y-%m-%dT%H:%MZ')}",
                )
        groups = self._candidates(node, data) or [data.everything]

        def keep(tweet: dict) -> bool:
            return _matches(node, tweet, data, now)

        return self._page(
            request, data, now, groups, keep, (10, 100), "next_token", earliest=earliest
        )

    def _candidates(self, node: _Node, data: _Index) -> list[_Ids] | None:
        if node.op == "atom":
            if node.key == "conversation_id":
                return [data.conversations.get(node.value, _Ids())]
            if node.key == "from":
                user = _user_named(data, node.value)
                return [data.authored.get(user["id"], _Ids()) if user else _Ids()]
            if node.key == "mention":
                user = data.by_username.get(node.value)
                return [data.mentioning.get(user["id"], _Ids()) if user else _Ids()]
            return None
        if node.op == "or":
            out: list[_Ids] = []
            for child in node.children:
                found = self._candidates(child, data)
                if found is None:
                    return None
                out.extend(found)
            return out
        if node.op == "and":
            for child in node.children:
                found = self._candidates(child, data)
                if found is not None:
                    return found
        return None

    def _page(
        self,
        request: Request,
        data: _Index,
        now: datetime,
        groups: list[_Ids],
        keep: Callable[[dict], bool],
        limits: tuple[int, int],
        token_name: str,
        earliest: datetime | None,
    ) -> Response:
        fields = self._fields(request)
        if isinstance(fields, Response):
            return fields
        tweet_fields, expansions, user_fields = fields
        low, high = limits
        raw = request.arg("max_results")
        try:
            size = int(raw) if raw is not None else 10
        except ValueError:
            return _invalid(
                "max_results", raw, "The `max_results` query parameter value is not a number"
            )
        if not low <= size <= high:
            return _invalid(
                "max_results",
                raw,
                f"The `max_results` query parameter value [{raw}] is not between {low} and {high}",
            )
        since_id = _int_arg(request, "since_id")
        until_id = _int_arg(request, "until_id")
        if isinstance(since_id, Response):
            return since_id
        if isinstance(until_id, Response):
            return until_id
        try:
            start = parse_time(request.arg("start_time")) or earliest
            end = parse_time(request.arg("end_time"))
        except ValueError:
            return _invalid("start_time", request.arg("start_time"), "Invalid time")
        token = request.arg(token_name) or request.arg("pagination_token")
        bound = until_id
        if token:
            state = decode_token(TOKEN_PREFIX, token)
            if state is None or "below" not in state:
                return _invalid(
                    token_name,
                    token,
                    f"The `{token_name}` query parameter value [{token}] is not valid",
                )
            bound = int(state["below"]) if bound is None else min(bound, int(state["below"]))

        chosen: list[dict] = []
        more = False
        for tid in _merged(groups, bound):
            tweet = data.tweets[tid]
            created = parse_time(tweet.get("created_at")) or snowflake_time(tid)
            if since_id is not None and int(tid) <= since_id:
                break
            if start is not None and created < start:
                break
            if created > now or (end is not None and created >= end):
                continue
            if not is_visible(tweet, created, now) or not keep(tweet):
                continue
            if len(chosen) == size:
                more = True
                break
            chosen.append(tweet)
        body: dict[str, Any] = {}
        if chosen:
            body["data"] = [_tweet_view(t, now, tweet_fields, data) for t in chosen]
            includes = _includes(chosen, now, expansions, tweet_fields, user_fields, data)
            if includes:
                body["includes"] = includes
        meta: dict[str, Any] = {}
        if chosen:
            meta["newest_id"] = chosen[0]["id"]
            meta["oldest_id"] = chosen[-1]["id"]
        meta["result_count"] = len(chosen)
        if more:
            meta["next_token"] = encode_token(TOKEN_PREFIX, {"below": chosen[-1]["id"]})
        body["meta"] = meta
        return Response(200, body)


def _int_arg(request: Request, name: str) -> int | None | Response:
    raw = request.arg(name)
    if raw is None:
        return None
    if not raw.isdigit():
        return _invalid(name, raw, f"The `{name}` query parameter value [{raw}] is not a valid id")
    return int(raw)


def _merged(groups: list[_Ids], bound: int | None) -> Iterator[str]:
    """Ids of all groups below `bound`, newest first, without repeats."""
    iters = [iter(g.ids[g.below(bound) :]) for g in groups if g.ids]
    last = None
    for tid in heapq.merge(*iters, key=lambda t: -int(t)):
        if tid != last:
            yield tid
        last = tid


def _matches(node: _Node, tweet: dict, data: _Index, now: datetime) -> bool:
    if node.op == "or":
        return any(_matches(c, tweet, data, now) for c in node.children)
    if node.op == "and":
        return all(_matches(c, tweet, data, now) for c in node.children)
    if node.op == "not":
        return not _matches(node.children[0], tweet, data, now)
    refs = {r.get("type") for r in tweet.get("referenced_tweets") or []}
    if node.key == "conversation_id":
        return (tweet.get("conversation_id") or tweet["id"]) == node.value
    if node.key == "from":
        user = _user_named(data, node.value)
        return bool(user) and tweet.get("author_id") == user["id"]
    if node.key == "to":
        user = _user_named(data, node.value)
        return bool(user) and tweet.get("in_reply_to_user_id") == user["id"]
    if node.key == "mention":
        return node.value in {u.lower() for u in _mentioned_usernames(tweet)}
    if node.key == "is":
        return {"reply": "replied_to", "retweet": "retweeted", "quote": "quoted"}[
            node.value
        ] in refs
    return node.value in text_at(tweet, tweet.get("text", ""), now)[0].lower()


def _user_named(data: _Index, value: str) -> dict | None:
    """from:/to: take a username or a numeric user id, as X's operators do."""
    return data.by_username.get(value) or (data.users.get(value) if value.isdigit() else None)


def _tweet_view(tweet: dict, now: datetime, fields: set[str], data: _Index) -> dict:
    text, edited = text_at(tweet, tweet.get("text", ""), now)
    out: dict[str, Any] = {
        "id": tweet["id"],
        "text": text,
        "edit_history_tweet_ids": tweet.get("edit_history_tweet_ids") or [tweet["id"]],
    }
    source = public(tweet)
    for name in sorted(fields):
        if name in source and name not in out:
            out[name] = source[name]
    if "entities" in fields and edited is not None:
        out["entities"] = {
            **(source.get("entities") or {}),
            "mentions": _mention_entities(text, data.by_username),
        }
        if not out["entities"]["mentions"]:
            del out["entities"]["mentions"]
    return out


def _user_view(user: dict, fields: set[str]) -> dict:
    out = {"id": user["id"], "name": user.get("name", ""), "username": user.get("username", "")}
    for name in sorted(fields):
        if name in user and name not in out:
            out[name] = user[name]
    return out


def _includes(
    tweets: list[dict],
    now: datetime,
    expansions: set[str],
    tweet_fields: set[str],
    user_fields: set[str],
    data: _Index,
) -> dict:
    user_ids: list[str] = []
    referenced: list[dict] = []
    for tweet in tweets:
        if "author_id" in expansions and tweet.get("author_id"):
            user_ids.append(tweet["author_id"])
        if "in_reply_to_user_id" in expansions and tweet.get("in_reply_to_user_id"):
            user_ids.append(tweet["in_reply_to_user_id"])
        if "entities.mentions.username" in expansions:
            for username in _mentioned_usernames(tweet):
                user = data.by_username.get(username.lower())
                if user:
                    user_ids.append(user["id"])
        if "referenced_tweets.id" in expansions or "referenced_tweets.id.author_id" in expansions:
            for ref in tweet.get("referenced_tweets") or []:
                other = data.tweets.get(ref.get("id", ""))
                if other is None:
                    continue
                created = parse_time(other.get("created_at")) or snowflake_time(other["id"])
                if not is_visible(other, created, now):
                    continue
                if "referenced_tweets.id" in expansions:
                    referenced.append(other)
                if "referenced_tweets.id.author_id" in expansions and other.get("author_id"):
                    user_ids.append(other["author_id"])
    out: dict[str, Any] = {}
    seen: set[str] = set()
    users = []
    for uid in user_ids:
        if uid in data.users and uid not in seen:
            seen.add(uid)
            users.append(_user_view(data.users[uid], user_fields))
    if users:
        out["users"] = users
    if referenced:
        unique = {t["id"]: t for t in referenced}
        out["tweets"] = [_tweet_view(t, now, tweet_fields, data) for t in unique.values()]
    return out


def _mention_entities(text: str, by_username: dict[str, dict]) -> list[dict]:
    out = []
    for match in MENTION.finditer(text):
        entity = {"start": match.start(), "end": match.end(), "username": match.group(1)}
        user = by_username.get(match.group(1).lower())
        if user:
            entity["id"] = user["id"]
        out.append(entity)
    return out


# --- rendering scenario threads as native objects -----------------------------------------------------


def user_id_for(author_id: str) -> str:
    return str(10**17 + int.from_bytes(digest("user:" + author_id, size=8), "big") % (9 * 10**17))


def _username_for(name: str, author_id: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9]", "", name)[:10] or "user"
    return f"{slug}{int.from_bytes(digest('username:' + author_id, size=4), 'big') % 10000:04d}"


def render(threads: Iterable, out_dir: Path) -> dict[str, int]:
    """Write the X threads of a scenario as v2 objects under out_dir/twitter/.

    A thread's root is a council post, or (kind "mention") a public post mentioning the
    council; every reply's text starts with the @handles X prefixes to it (the author
    replied to and, when different, the conversation's author), as the v2 `text` does.

    Returns the number of objects written per file, e.g. {"twitter/tweets": 120}.
    """
    folder = Path(out_dir) / PLATFORM
    folder.mkdir(parents=True, exist_ok=True)
    users: dict[str, dict] = {}
    count = 0

    def user_for(thread, message) -> dict:
        if message.is_own or message.author_id == thread.account_id:
            uid, name, username = thread.account_id, thread.account_name, thread.account_handle
        else:
            uid = user_id_for(message.author_id)
            name, username = (
                message.author_name,
                _username_for(message.author_name, message.author_id),
            )
        if uid not in users:
            users[uid] = {
                "id": uid,
                "name": name,
                "username": username,
                "created_at": "2012-06-01T09:00:00.000Z",
                "protected": False,
                "verified": False,
                "description": "",
            }
        return users[uid]

    mine = [t for t in threads if t.platform == PLATFORM]
    for thread in mine:  # every user first, so that entities.mentions can carry their ids
        for message in thread.messages():
            user_for(thread, message)
    by_username = {u["username"].lower(): u for u in users.values()}
    with (folder / "tweets.jsonl").open("w", encoding="utf-8") as handle:
        for thread in mine:
            ids = {m.key: snowflake(m.created_at, m.key) for m in thread.messages()}
            by_key = {m.key: m for m in thread.messages()}
            root = thread.root
            root_user = user_for(thread, root)
            conversation = ids[root.key]
            for message in thread.messages():
                author = user_for(thread, message)
                prefix: list[str] = []
                tweet: dict[str, Any] = {
                    "id": ids[message.key],
                    "author_id": author["id"],
                    "created_at": iso(message.created_at),
                    "conversation_id": conversation,
                    "lang": "en",
                    "possibly_sensitive": False,
                    "reply_settings": "everyone",
                    "edit_history_tweet_ids": [ids[message.key]],
                }
                if message is not root:
                    parent = by_key.get(message.parent) or root
                    parent_user = user_for(thread, parent)
                    tweet["in_reply_to_user_id"] = parent_user["id"]
                    tweet["referenced_tweets"] = [{"type": "replied_to", "id": ids[parent.key]}]
                    for user in (parent_user, root_user):
                        if user["id"] != author["id"] and "@" + user["username"] not in prefix:
                            prefix.append("@" + user["username"])
                head = " ".join(prefix) + " " if prefix else ""
                tweet["text"] = head + message.text
                mentions = _mention_entities(tweet["text"], by_username)
                if mentions:
                    tweet["entities"] = {"mentions": mentions}
                private: dict[str, Any] = {"key": message.key}
                if message.edits:
                    private["edits"] = [
                        {"at": iso(e.at), "text": head + e.text} for e in message.edits
                    ]
                private["deleted_at"] = iso(message.deleted_at) if message.deleted_at else None
                tweet["_sandbox"] = private
                write_json_line(handle, tweet)
                count += 1
    with (folder / "users.jsonl").open("w", encoding="utf-8") as handle:
        for user in users.values():
            write_json_line(handle, user)
    return {f"{PLATFORM}/tweets": count, f"{PLATFORM}/users": len(users)}
