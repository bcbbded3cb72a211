"""The Graph API in the sandbox: a Facebook Page and an Instagram professional account.

Two halves:

- `render(threads, out_dir)` turns the scenario's abstract threads into native Graph objects,
  written as JSON Lines: facebook/{pages,posts,comments}.jsonl and
  instagram/{users,media,comments}.jsonl (docs/sandbox.md describes every field).
- `Api(store)` serves them the way graph.facebook.com does: versioned paths, `fields`
  selection with nested edge expansion (``comments.filter(stream).limit(50).summary(true)
  {id,message,from}``), cursor paging with `paging.cursors` and full `paging.next` links
  that carry the access_token, since/until filters, Graph error bodies and throttling
  headers.

Visibility follows the sandbox clock (`store.now()`): an object exists once its
created_time/timestamp has passed and until its `_sandbox.deleted_at`; its text is the
last `_sandbox.edits` entry made at or before now. The private `_sandbox` key is never
served.

Tokens: any non-empty access_token is accepted, except the literal "expired", which gets
the expired-session error (code 190, subcode 463) so tests can use a dead token without
switching a fault on. A missing token gets code 104, as Graph answers.

Deliberate simplifications (marked where made): lists always page with cursors, even with
since/until (Graph switches some edges to time-based `__paging_token` links, which a client
follows the same way); Facebook and Instagram thread replies two levels deep, as the
platforms do, so a reply to a reply is rendered under its top-level comment.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import gc
import hashlib
import json
import math
import re
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from kernel.items import ItemError, parse_timestamp
from sandbox.native import write_json_line
from sandbox.scenario import Message, Thread
from sandbox.server import Request, Response, Store

DEFAULT_LIMIT = 25
MAX_LIMIT = 100  # Graph caps `limit` on these edges at 100
GRAPH_PATH = re.compile(r"^/(v\d+\.\d+)/([A-Za-z0-9_.]+)(?:/([a-z_]+))?/?$")
GRAPH_PREFIX = re.compile(r"^/v\d+\.\d+(/|$)")

POST_EDGES = ("published_posts", "feed", "posts")

# Fields each node type has (Graph answers code 100 for any other). Absent values are
# omitted from responses, as Graph omits them.
KNOWN_FIELDS = {
    "Page": {
        "id",
        "name",
        "username",
        "link",
        "category",
        "about",
        "fan_count",
        "followers_count",
        "verification_status",
        "website",
        "published_posts",
        "feed",
        "posts",
        "instagram_business_account",
    },
    "Post": {
        "id",
        "message",
        "created_time",
        "updated_time",
        "permalink_url",
        "from",
        "is_published",
        "promotion_status",
        "sponsor_tags",
        "status_type",
        "is_hidden",
        "is_expired",
        "story",
        "full_picture",
        "picture",
        "icon",
        "message_tags",
        "attachments",
        "shares",
        "privacy",
        "is_popular",
        "is_spherical",
        "parent_id",
        "place",
        "properties",
        "scheduled_publish_time",
        "timeline_visibility",
        "to",
        "actions",
        "admin_creator",
        "application",
        "backdated_time",
        "call_to_action",
        "is_eligible_for_promotion",
        "is_instagram_eligible",
        "targeting",
        "comments",
        "reactions",
        "likes",
    },
    "Comment": {
        "id",
        "message",
        "created_time",
        "from",
        "parent",
        "is_hidden",
        "permalink_url",
        "comment_count",
        "like_count",
        "can_comment",
        "can_hide",
        "can_like",
        "can_remove",
        "can_reply_privately",
        "attachment",
        "message_tags",
        "object",
        "user_likes",
        "is_private",
        "comments",
        "reactions",
        "likes",
    },
    "IGUser": {
        "id",
        "ig_id",
        "username",
        "name",
        "biography",
        "website",
        "followers_count",
        "follows_count",
        "media_count",
        "profile_picture_url",
        "media",
    },
    "IGMedia": {
        "id",
        "ig_id",
        "caption",
        "timestamp",
        "permalink",
        "shortcode",
        "media_type",
        "media_product_type",
        "media_url",
        "thumbnail_url",
        "comments_count",
        "like_count",
        "username",
        "owner",
        "is_comment_enabled",
        "is_shared_to_feed",
        "alt_text",
        "boost_eligibility_info",
        "legacy_instagram_media_id",
        "children",
        "comments",
    },
    "IGComment": {
        "id",
        "text",
        "timestamp",
        "username",
        "from",
        "hidden",
        "like_count",
        "media",
        "parent_id",
        "user",
        "legacy_instagram_comment_id",
        "replies",
    },
}
# What Graph returns when no `fields` are asked for.
DEFAULT_FIELDS = {
    "Page": ("name", "id"),
    "Post": ("created_time", "message", "story", "id"),
    "Comment": ("created_time", "from", "message", "id"),
    "IGUser": ("id",),
    "IGMedia": ("id",),
    "IGComment": ("timestamp", "text", "id"),
}
TEXT_FIELD = {"Post": "message", "Comment": "message", "IGMedia": "caption", "IGComment": "text"}


# --- rendering the scenario ---------------------------------------------------------------


def graph_time(dt: datetime) -> str:
    """Graph's timestamp spelling: 2021-07-04T19:50:58+0000."""
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S+0000")


def _num(key: str) -> int:
    digits = re.sub(r"\D", "", key)
    return int(digits) if digits else int(hashlib.sha1(key.encode()).hexdigest()[:12], 16)


def _sandbox_key(message: Message) -> dict:
    return {
        "key": message.key,
        "edits": [{"at": graph_time(e.at), "text": e.text} for e in message.edits],
        "deleted_at": graph_time(message.deleted_at) if message.deleted_at else None,
    }


def _top_level(message: Message, by_key: dict[str, Message], root_key: str) -> Message:
    """The top-level comment a reply belongs to: both platforms thread two levels deep."""
    current = message
    while current.parent and current.parent != root_key and current.parent in by_key:
        current = by_key[current.parent]
    return current


def _fb_user_id(author_id: str) -> str:
    return str(100_000_000_000_000 + _num(author_id)) if author_id.startswith("u") else author_id


def _ig_user(message: Message, thread: Thread) -> tuple[str, str]:
    if message.is_own:
        return thread.account_id, thread.account_handle
    n = _num(message.author_id)
    username = re.sub(r"[^a-z0-9._]", "", message.author_name.lower().replace(" ", "."))
    return str(17_841_450_000_000_000 + n), f"{username}{n % 1000}"


class _Jsonl:
    """Writes rows to a JSON Lines file as they come (a data set need not fit in memory)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.handle = path.open("w", encoding="utf-8")
        self.count = 0

    def write(self, row: dict) -> None:
        write_json_line(self.handle, row, separators=(",", ":"))
        self.count += 1

    def close(self) -> int:
        self.handle.close()
        return self.count


def _write_jsonl(path: Path, rows: Iterable[dict]) -> int:
    out = _Jsonl(path)
    for row in rows:
        out.write(row)
    return out.close()


def _render_facebook(threads: list[Thread], out: Path) -> dict[str, int]:
    pages: dict[str, dict] = {}
    posts, comments = _Jsonl(out / "posts.jsonl"), _Jsonl(out / "comments.jsonl")
    for thread in threads:
        page = thread.account_id
        pages.setdefault(
            page,
            {
                "id": page,
                "name": thread.account_name,
                "username": thread.account_handle,
                "link": f"https://www.facebook.com/{thread.account_handle}",
                "category": "Government organization",
            },
        )
        root = thread.root
        n = _num(root.key)
        postnum = str(10_160_000_000_000_000 + n)
        post_id = f"{page}_{postnum}"
        created = graph_time(root.created_at)
        sponsor = root.flags.get("sponsor")
        paid = bool(root.flags.get("paid_partnership") or sponsor)
        post = {
            "id": post_id,
            "message": root.text,
            "created_time": created,
            "updated_time": created,
            "permalink_url": f"https://www.facebook.com/{page}/posts/{postnum}/",
            "from": {"name": thread.account_name, "id": page},
            "is_published": True,
            "is_hidden": False,
            "status_type": "mobile_status_update",
            # Boosted (paid) posts are "active"; most council posts cannot be boosted.
            "promotion_status": "active" if paid else ("inactive" if n % 9 == 0 else "ineligible"),
        }
        if sponsor:
            post["sponsor_tags"] = [{"id": str(200_000_000_000 + _num(sponsor)), "name": sponsor}]
        post["_sandbox"] = _sandbox_key(root)
        posts.write(post)
        by_key = {m.key: m for m in thread.replies}
        comment_ids: dict[str, str] = {}
        for message in sorted(thread.replies, key=lambda m: m.created_at):
            cnum = str(10_170_000_000_000_000 + _num(message.key))
            comment_ids[message.key] = f"{postnum}_{cnum}"
        for message in sorted(thread.replies, key=lambda m: m.created_at):
            cid = comment_ids[message.key]
            cnum = cid.split("_", 1)[1]
            author = (
                {"name": thread.account_name, "id": page}
                if message.is_own
                else {"name": message.author_name, "id": _fb_user_id(message.author_id)}
            )
            row = {
                "id": cid,
                "message": message.text,
                "created_time": graph_time(message.created_at),
                "from": author,
                "like_count": (_num(message.key) * 7919) % 13,
                "is_hidden": message.hidden,
                "permalink_url": f"https://www.facebook.com/{page}/posts/{postnum}/?comment_id={cnum}",
            }
            if message.parent and message.parent != root.key and message.parent in by_key:
                top = _top_level(message, by_key, root.key)
                top_id = comment_ids[top.key]
                row["parent"] = {"id": top_id}
                row["permalink_url"] = (
                    f"https://www.facebook.com/{page}/posts/{postnum}/"
                    f"?comment_id={top_id.split('_', 1)[1]}"
                    f"&reply_comment_id={cnum}"
                )
            row["_sandbox"] = _sandbox_key(message)
            comments.write(row)
    return {
        "facebook/pages": _write_jsonl(out / "pages.jsonl", pages.values()),
        "facebook/posts": posts.close(),
        "facebook/comments": comments.close(),
    }


def _render_instagram(threads: list[Thread], out: Path) -> dict[str, int]:
    users: dict[str, dict] = {}
    media, comments = _Jsonl(out / "media.jsonl"), _Jsonl(out / "comments.jsonl")
    for thread in threads:
        user = thread.account_id
        users.setdefault(
            user, {"id": user, "username": thread.account_handle, "name": thread.account_name}
        )
        root = thread.root
        n = _num(root.key)
        media_id = str(17_900_000_000_000_000 + n)
        shortcode = base64.urlsafe_b64encode(hashlib.sha1(media_id.encode()).digest())[:11].decode()
        kind = (
            ("VIDEO", "REELS")
            if n % 5 == 0
            else (("CAROUSEL_ALBUM", "FEED") if n % 7 == 0 else ("IMAGE", "FEED"))
        )
        row = {
            "id": media_id,
            "caption": root.text,
            "timestamp": graph_time(root.created_at),
            "permalink": f"https://www.instagram.com/{'reel' if kind[1] == 'REELS' else 'p'}/{shortcode}/",
            "shortcode": shortcode,
            "media_type": kind[0],
            "media_product_type": kind[1],
            "media_url": f"https://scontent.cdninstagram.com/v/t51.29350-15/{media_id}_n.jpg",
            "like_count": (n * 7919) % 97,
            "username": thread.account_handle,
            "owner": {"id": user},
            "is_comment_enabled": True,
            # The Instagram Graph API has no read field for the paid-partnership label:
            # the scenario's sponsor shows only in the caption.
            "_sandbox": _sandbox_key(root),
        }
        if kind[0] == "VIDEO":
            row["thumbnail_url"] = row["media_url"].replace("_n.jpg", "_t.jpg")
        media.write(row)
        by_key = {m.key: m for m in thread.replies}
        ids = {m.key: str(17_850_000_000_000_000 + _num(m.key)) for m in thread.replies}
        for message in sorted(thread.replies, key=lambda m: m.created_at):
            from_id, username = _ig_user(message, thread)
            comment = {
                "id": ids[message.key],
                "text": message.text,
                "timestamp": graph_time(message.created_at),
                "username": username,
                "from": {"id": from_id, "username": username},
                "hidden": message.hidden,
                "like_count": (_num(message.key) * 7919) % 13,
                "media": {"id": media_id},
            }
            if message.parent and message.parent != root.key and message.parent in by_key:
                comment["parent_id"] = ids[_top_level(message, by_key, root.key).key]
            comment["_sandbox"] = _sandbox_key(message)
            comments.write(comment)
    return {
        "instagram/users": _write_jsonl(out / "users.jsonl", users.values()),
        "instagram/media": media.close(),
        "instagram/comments": comments.close(),
    }


def render(threads: list[Thread], out_dir: Path) -> dict[str, int]:
    """Write the Facebook and Instagram threads as native Graph objects.

    Args:
        threads: scenario threads; those of platform "facebook" and "instagram" are used.
        out_dir: the data directory; facebook/ and instagram/ are written inside it.

    Returns:
        Objects written per file, e.g. {"facebook/posts": 12, "facebook/comments": 96}.
    """
    out_dir = Path(out_dir)
    counts: dict[str, int] = {}
    facebook = [t for t in threads if t.platform == "facebook"]
    instagram = [t for t in threads if t.platform == "instagram"]
    enabled = gc.isenabled()
    gc.disable()  # millions of short-lived dicts: the cyclic GC would only re-scan them
    try:
        if facebook:
            counts.update(_render_facebook(facebook, out_dir / "facebook"))
        if instagram:
            counts.update(_render_instagram(instagram, out_dir / "instagram"))
    finally:
        if enabled:
            gc.enable()
    return counts


# --- the `fields` syntax ------------------------------------------------------------------


class GraphError(Exception):
    """An error Graph would answer with; `response()` renders it."""

    def __init__(
        self,
        message: str,
        code: int,
        status: int = 400,
        type_: str = "OAuthException",
        subcode: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message, self.code, self.status, self.type = message, code, status, type_
        self.subcode, self.headers = subcode, headers or {}

    def response(self) -> Response:
        error: dict[str, Any] = {"message": self.message, "type": self.type, "code": self.code}
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        error["fbtrace_id"] = _trace_id(self.message)
        return Response(self.status, {"error": error}, dict(self.headers))


def _trace_id(seed: str) -> str:
    digest = hashlib.sha1(f"{seed}{datetime.now().timestamp()}".encode()).digest()
    return base64.urlsafe_b64encode(digest)[:11].decode()


class FieldSpec:
    """One entry of a `fields` list: name, modifiers, sub-fields."""

    __slots__ = ("name", "alias", "mods", "children", "children_text")

    def __init__(self, name: str) -> None:
        self.name = name
        self.alias: str | None = None
        self.mods: dict[str, str] = {}
        self.children: list[FieldSpec] | None = None
        self.children_text: str | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


def parse_fields(text: str) -> list[FieldSpec]:
    """Parse Graph's field syntax, e.g. ``id,comments.limit(5).summary(true){id,from{name}}``.

    Raises:
        GraphError: code 100 with Graph's "Syntax error" message.
    """
    pos = 0

    def fail(expected: str) -> GraphError:
        near = text[pos : pos + 20] or "end of string"
        return GraphError(
            f'Syntax error "Expected {expected} instead of "{near}"." at character {pos}: {text}',
            2500,
            type_="OAuthException",
        )

    def name() -> str:
        nonlocal pos
        match = re.compile(r"[A-Za-z0-9_]+").match(text, pos)
        if not match:
            raise fail("field name")
        pos = match.end()
        return match.group(0)

    def field_list(closing: str | None) -> list[FieldSpec]:
        nonlocal pos
        out = []
        while True:
            while pos < len(text) and text[pos] == " ":
                pos += 1
            spec = FieldSpec(name())
            while pos < len(text) and text[pos] in ".{":
                if text[pos] == ".":
                    pos += 1
                    mod = name()
                    if pos >= len(text) or text[pos] != "(":
                        raise fail("(")
                    end = text.find(")", pos)
                    if end < 0:
                        raise fail(")")
                    arg = text[pos + 1 : end]
                    pos = end + 1
                    if mod == "as":
                        spec.alias = arg
                    else:
                        spec.mods[mod] = arg
                else:
                    pos += 1
                    start = pos
                    spec.children = field_list("}")
                    spec.children_text = text[start : pos - 1]
            out.append(spec)
            while pos < len(text) and text[pos] == " ":
                pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
                continue
            if closing is None:
                if pos != len(text):
                    raise fail("end of string")
                return out
            if pos < len(text) and text[pos] == closing:
                pos += 1
                return out
            raise fail(closing)

    if not text.strip():
        return []
    return field_list(None)


# --- the index over the data directory --------------------------------------------------------


class _Obj:
    """A stored object with its times parsed once."""

    __slots__ = ("id", "type", "ts", "gone", "edits", "rec", "owner", "parent", "up")

    def __init__(self, type_: str, rec: dict) -> None:
        private = rec.get("_sandbox") or {}
        self.type = type_
        self.rec = rec  # shared with the store's cache; "_sandbox" is never served
        self.id = str(rec["id"])
        stamp = rec.get("created_time") or rec.get("timestamp")
        self.ts = _epoch(stamp) if stamp else 0.0
        gone = private.get("deleted_at")
        self.gone = _epoch(gone) if gone else None
        edits = private.get("edits")
        self.edits = sorted((_epoch(e["at"]), e["text"]) for e in edits) if edits else ()
        self.owner: str | None = None  # page / IG user / post / media it belongs to
        self.parent: str | None = None  # the comment it replies to
        self.up: _Obj | None = None  # the comment or post it hangs from

    def visible(self, now: float) -> bool:
        """Created, not deleted, and neither is what it hangs from: deleting a comment
        deletes its replies, deleting a post its comments, on both platforms."""
        if self.ts > now or (self.gone is not None and self.gone <= now):
            return False
        return self.up is None or self.up.visible(now)

    def text(self, now: float) -> Any:
        field = TEXT_FIELD.get(self.type)
        value = self.rec.get(field)
        for at, text in self.edits:
            if at <= now:
                value = text
        return value

    def last_change(self, now: float) -> float:
        changed = self.ts
        for at, _ in self.edits:
            if at <= now:
                changed = at
        return changed


def _epoch(value: str) -> float:
    """Seconds since the epoch of a stored timestamp (Graph's spelling is the fast path)."""
    if len(value) == 24 and value.endswith("+0000") and value[10] == "T":
        return datetime.fromisoformat(value[:19]).replace(tzinfo=timezone.utc).timestamp()
    return parse_timestamp(value).timestamp()


class _Timeline:
    """Objects in ascending (time, id) order, paged by cursors without scanning the list."""

    def __init__(self, objs: Iterable[_Obj]) -> None:
        self.objs = sorted(objs, key=lambda o: (o.ts, o.id))
        self.keys = [(o.ts, o.id) for o in self.objs]

    def bounds(self, now: float, since: float | None, until: float | None) -> tuple[int, int]:
        lo = bisect.bisect_left(self.keys, (since,)) if since is not None else 0
        top = now if until is None else min(now, until)
        hi = bisect.bisect_right(self.keys, (top, "\U0010ffff"))
        return lo, max(lo, hi)

    def count(self, now: float, keep: Callable[[_Obj], bool] | None = None) -> int:
        lo, hi = self.bounds(now, None, None)
        return sum(1 for o in self.objs[lo:hi] if o.visible(now) and (keep is None or keep(o)))

    def window(
        self,
        now: float,
        *,
        newest_first: bool,
        limit: int,
        after: tuple | None,
        before: tuple | None,
        since: float | None = None,
        until: float | None = None,
        keep: Callable[[_Obj], bool] | None = None,
    ) -> tuple[list[_Obj], bool, bool]:
        """A page in display order, and whether more exist after it and before it."""
        lo, hi = self.bounds(now, since, until)
        ascending = not newest_first
        if before is not None:
            ascending = not ascending  # walk backwards from the cursor, then flip
            cursor = before
        else:
            cursor = after
        if ascending:
            start = bisect.bisect_right(self.keys, cursor) if cursor else lo
            indexes = range(max(start, lo), hi)
        else:
            start = bisect.bisect_left(self.keys, cursor) - 1 if cursor else hi - 1
            indexes = range(min(start, hi - 1), lo - 1, -1)
        page: list[_Obj] = []
        for i in indexes:
            obj = self.objs[i]
            if obj.visible(now) and (keep is None or keep(obj)):
                page.append(obj)
                if len(page) > limit:
                    break
        more = len(page) > limit
        page = page[:limit]
        if before is not None:
            return page[::-1], True, more
        return page, more, after is not None


class _Index:
    """Derived views of the Graph data files, rebuilt when a file changes."""

    def __init__(self, store: Store) -> None:
        self.pages = {str(r["id"]): r for r in store.records("facebook", "pages")}
        self.ig_users = {str(r["id"]): r for r in store.records("instagram", "users")}
        self.nodes: dict[str, _Obj] = {}

        posts = [_Obj("Post", r) for r in store.records("facebook", "posts")]
        by_postnum = {}
        for post in posts:
            page, _, postnum = post.id.partition("_")
            post.owner = page
            by_postnum[postnum] = post.id
            self.nodes[post.id] = post
            self.pages.setdefault(
                page,
                {
                    "id": page,
                    **(
                        {"name": post.rec["from"]["name"]}
                        if isinstance(post.rec.get("from"), dict)
                        and post.rec["from"].get("id") == page
                        else {}
                    ),
                },
            )
        self.page_posts = _group(posts, lambda o: o.owner)

        comments = []
        for rec in store.records("facebook", "comments"):
            obj = _Obj("Comment", rec)
            postnum = obj.id.partition("_")[0]
            obj.owner = by_postnum.get(postnum)
            if obj.owner is None:
                continue  # a comment on a post this data set does not hold
            parent = rec.get("parent")
            obj.parent = (
                str(parent["id"]) if isinstance(parent, dict) and parent.get("id") else None
            )
            comments.append(obj)
            self.nodes[obj.id] = obj
        for obj in comments:
            obj.up = self.nodes.get(obj.parent) if obj.parent else self.nodes[obj.owner]
        self.post_stream = _group(comments, lambda o: o.owner)
        self.post_toplevel = _group([c for c in comments if c.parent is None], lambda o: o.owner)
        self.comment_replies = _group([c for c in comments if c.parent], lambda o: o.parent)

        usernames = {u.get("username"): uid for uid, u in self.ig_users.items()}
        media = []
        for rec in store.records("instagram", "media"):
            obj = _Obj("IGMedia", rec)
            owner = rec.get("owner")
            obj.owner = (
                str(owner["id"])
                if isinstance(owner, dict) and owner.get("id")
                else usernames.get(rec.get("username"))
                or (next(iter(self.ig_users)) if len(self.ig_users) == 1 else None)
            )
            if obj.owner:
                self.ig_users.setdefault(
                    obj.owner, {"id": obj.owner, "username": rec.get("username", "")}
                )
            media.append(obj)
            self.nodes[obj.id] = obj
        self.user_media = _group([m for m in media if m.owner], lambda o: o.owner)

        ig_comments = [_Obj("IGComment", r) for r in store.records("instagram", "comments")]
        by_id = {c.id: c for c in ig_comments}
        for obj in ig_comments:
            obj.parent = str(obj.rec["parent_id"]) if obj.rec.get("parent_id") else None
            medium = obj.rec.get("media")
            if isinstance(medium, dict) and medium.get("id"):
                obj.owner = str(medium["id"])
            elif obj.parent in by_id:
                parent_media = by_id[obj.parent].rec.get("media") or {}
                obj.owner = str(parent_media.get("id")) if parent_media.get("id") else None
            if obj.owner is not None:
                self.nodes[obj.id] = obj
        ig_comments = [c for c in ig_comments if c.owner is not None]
        for obj in ig_comments:
            obj.up = by_id.get(obj.parent) if obj.parent else self.nodes.get(obj.owner)
        self.media_all = _group(ig_comments, lambda o: o.owner)
        self.media_toplevel = _group(
            [c for c in ig_comments if c.parent is None], lambda o: o.owner
        )
        self.ig_replies = _group([c for c in ig_comments if c.parent], lambda o: o.parent)


def _group(objs: Iterable[_Obj], key: Callable[[_Obj], str | None]) -> dict[str, _Timeline]:
    groups: dict[str, list[_Obj]] = {}
    for obj in objs:
        k = key(obj)
        if k is not None:
            groups.setdefault(k, []).append(obj)
    return {k: _Timeline(v) for k, v in groups.items()}


EMPTY = _Timeline([])


# --- serving ----------------------------------------------------------------------------------


def _encode_cursor(obj: _Obj) -> str:
    raw = json.dumps([obj.ts, obj.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(value: str, name: str) -> tuple:
    try:
        ts, obj_id = json.loads(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
        return (float(ts), str(obj_id))
    except (ValueError, TypeError, binascii.Error):
        raise GraphError(
            f"(#100) The parameter {name} is not a valid cursor", 100, type_="OAuthException"
        ) from None


def _parse_time(value: str, name: str) -> float:
    value = value.strip()
    if re.fullmatch(r"-?\d+(\.\d+)?", value):
        return float(value)
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            value += "T00:00:00+00:00"
        return parse_timestamp(value, name).timestamp()
    except ItemError:
        raise GraphError(
            f"(#100) The parameter {name} is not a valid date or timestamp",
            100,
            type_="OAuthException",
        ) from None


def _parse_limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        return max(0, min(int(value), MAX_LIMIT))
    except ValueError:
        raise GraphError(
            "(#100) Param limit must be a number", 100, type_="OAuthException"
        ) from None


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "total_count")


class _Context:
    """One request's clock, token and link base."""

    def __init__(self, idx: _Index, now: float, base: str, version: str, token: str) -> None:
        self.idx, self.now, self.base, self.version, self.token = idx, now, base, version, token

    def link(self, node_id: str, edge: str, params: dict[str, str]) -> str:
        # Graph puts the token first in its paging links: clients must strip it before
        # storing a page (the connector does; see connectors/graph/client.py).
        query = {"access_token": self.token, "pretty": "0", **params}
        return f"{self.base}/{self.version}/{node_id}/{edge}?{urlencode(query)}"


class Api:
    """The Graph API over a sandbox store (see the module docstring)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()

    # -- the server core's interface --

    def endpoint(self, request: Request) -> str | None:
        if not GRAPH_PREFIX.match(request.path):
            return None
        match = GRAPH_PATH.match(request.path)
        if not match:
            return "graph.other"
        node, edge = match.group(2), match.group(3)
        if edge in POST_EDGES:
            return "facebook.posts"
        if edge == "media":
            return "instagram.media"
        if edge == "replies":
            return "instagram.replies"
        if edge == "comments":
            return "facebook.comments" if "_" in node else "instagram.comments"
        if edge is None:
            if "_" in node:
                return "facebook.node"
            idx = self._index()
            obj = idx.nodes.get(node)
            if node in idx.pages or (obj is not None and obj.type in ("Post", "Comment")):
                return "facebook.node"
            return "instagram.node"
        return "graph.other"

    def handle(self, request: Request, endpoint: str) -> Response:
        try:
            return self._handle(request)
        except GraphError as exc:
            return exc.response()

    def fault(self, kind: str, request: Request, spec: dict) -> Response | None:
        platform = (
            "instagram"
            if self.endpoint(request)
            in ("instagram.media", "instagram.comments", "instagram.replies", "instagram.node")
            else "facebook"
        )
        seconds = max(0.0, float(spec.get("seconds") or 0))
        if kind == "expired_token":
            return _expired().response()
        if kind == "throttled":
            # Graph: the app's request limit, sent as HTTP 400 (not 429) with x-app-usage.
            return GraphError(
                "(#4) Application request limit reached",
                4,
                headers={
                    "x-app-usage": json.dumps(
                        {"call_count": 100, "total_cputime": 12, "total_time": 31}
                    )
                },
            ).response()
        if kind in ("429", "429_noreset"):
            headers = {}
            if kind == "429":
                # Graph itself sends the wait in x-business-use-case-usage, in whole minutes;
                # the sandbox adds Retry-After (seconds) so short waits can be tested.
                owner = self._owner_of(request)
                headers["Retry-After"] = str(max(1, math.ceil(seconds)))
                headers["x-business-use-case-usage"] = json.dumps(
                    {
                        owner: [
                            {
                                "type": "instagram" if platform == "instagram" else "pages",
                                "call_count": 100,
                                "total_cputime": 40,
                                "total_time": 52,
                                "estimated_time_to_regain_access": max(1, math.ceil(seconds / 60)),
                            }
                        ]
                    }
                )
            if platform == "instagram":
                error = GraphError(
                    "(#613) Calls to this api have exceeded the rate limit.", 613, headers=headers
                )
            elif kind == "429":
                error = GraphError("(#32) Page request limit reached", 32, headers=headers)
            else:
                error = GraphError("(#17) User request limit reached", 17, headers=headers)
            return error.response()
        return None

    # -- internals --

    def _index(self) -> _Index:
        with self._lock:
            # Building the index of a large data set allocates millions of objects that
            # live until the files change: the cyclic GC only slows that down (3x at 300k
            # objects), and freezing them keeps later collections from re-scanning them.
            enabled = gc.isenabled()
            gc.disable()
            try:
                for platform, name in (
                    ("facebook", "pages"),
                    ("facebook", "posts"),
                    ("facebook", "comments"),
                    ("instagram", "users"),
                    ("instagram", "media"),
                    ("instagram", "comments"),
                ):
                    self.store.records(platform, name)  # re-reads changed files
                idx = self.store.indexes.get("graph")
                if idx is None:
                    idx = self.store.indexes["graph"] = _Index(self.store)
                    gc.freeze()
            finally:
                if enabled:
                    gc.enable()
        return idx

    def _owner_of(self, request: Request) -> str:
        match = GRAPH_PATH.match(request.path)
        node = match.group(2) if match else ""
        return node.partition("_")[0]

    def _handle(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            raise GraphError(
                f"Unsupported {request.method.lower()} request. The sandbox serves reads only.",
                100,
                type_="GraphMethodException",
            )
        token = request.arg("access_token")
        auth = request.headers.get("authorization", "")
        if not token and auth.lower().startswith(("bearer ", "oauth ")):
            token = auth.split(None, 1)[1].strip()
        if not token:
            raise GraphError("An access token is required to request this resource.", 104)
        if token == "expired":
            raise _expired()
        match = GRAPH_PATH.match(request.path)
        if not match:
            raise GraphError(f"Unknown path components: {request.path}", 2500)
        version, node_id, edge = match.groups()
        idx = self._index()
        host = request.headers.get("host", "127.0.0.1")
        ctx = _Context(idx, self.store.now().timestamp(), f"http://{host}", version, token)
        fields = parse_fields(request.arg("fields") or "")
        headers = {"facebook-api-version": version}
        node_type, node = _node(ctx, node_id)
        if edge is None:
            return Response(200, _render(ctx, node_type, node, fields), headers)
        if (node_type, edge) not in EDGES:
            raise GraphError(
                f"(#100) Tried accessing nonexisting field ({edge}) on node type ({node_type})", 100
            )
        params = {k: v[-1] for k, v in request.query.items() if k not in ("access_token", "pretty")}
        link_params = {k: v for k, v in params.items() if k not in ("after", "before")}
        body = _edge(ctx, node_type, node_id, edge, params, fields, link_params)
        return Response(200, body, headers)


def _node(ctx: _Context, node_id: str) -> tuple[str, Any]:
    """The node's type and the node (a dict for pages and IG users, else an _Obj)."""
    idx = ctx.idx
    if node_id in idx.pages:
        return "Page", idx.pages[node_id]
    if node_id in idx.ig_users:
        return "IGUser", idx.ig_users[node_id]
    obj = idx.nodes.get(node_id)
    if obj is None or not obj.visible(ctx.now):
        raise _unknown(node_id)
    return obj.type, obj


# --- edges ------------------------------------------------------------------------------------
# (node type, edge) -> function(ctx, node_id, params) -> (timeline, newest_first, keep,
# summary or None). Orders follow the platforms: posts and media newest first; Facebook
# comments chronological unless order=reverse_chronological; Instagram comments newest
# first (as in the recorded samples), replies oldest first.


def _posts_edge(published_only: bool):
    def edge(ctx: _Context, node_id: str, params: dict):
        keep = None
        if published_only:

            def keep(obj: _Obj) -> bool:
                author = obj.rec.get("from")
                by_page = not isinstance(author, dict) or str(author.get("id")) == node_id
                return by_page and obj.rec.get("is_published", True) is not False

        return ctx.idx.page_posts.get(node_id, EMPTY), True, keep, None

    return edge


def _fb_comments_edge(ctx: _Context, node_id: str, params: dict):
    order = params.get("order") or "chronological"
    if order not in ("chronological", "reverse_chronological"):
        raise GraphError(
            "(#100) order must be one of the following values: chronological, "
            "reverse_chronological",
            100,
        )
    obj = ctx.idx.nodes[node_id]
    if obj.type == "Comment":
        timeline = ctx.idx.comment_replies.get(node_id, EMPTY)
    else:
        flt = params.get("filter") or "toplevel"
        if flt not in ("toplevel", "stream"):
            raise GraphError(
                "(#100) filter must be one of the following values: toplevel, stream", 100
            )
        timeline = (ctx.idx.post_stream if flt == "stream" else ctx.idx.post_toplevel).get(
            node_id, EMPTY
        )
    summary = {"order": order, "total_count": timeline.count(ctx.now), "can_comment": True}
    return timeline, order == "reverse_chronological", None, summary


def _empty_edge(ctx: _Context, node_id: str, params: dict):
    return EMPTY, False, None, {"total_count": 0}


EDGES: dict[tuple[str, str], Callable] = {
    ("Page", "published_posts"): _posts_edge(True),
    ("Page", "posts"): _posts_edge(True),
    ("Page", "feed"): _posts_edge(False),
    ("Post", "comments"): _fb_comments_edge,
    ("Comment", "comments"): _fb_comments_edge,
    ("Post", "reactions"): _empty_edge,
    ("Post", "likes"): _empty_edge,
    ("Comment", "reactions"): _empty_edge,
    ("Comment", "likes"): _empty_edge,
    ("IGUser", "media"): lambda ctx, node_id, params: (
        ctx.idx.user_media.get(node_id, EMPTY),
        True,
        None,
        None,
    ),
    ("IGMedia", "comments"): lambda ctx, node_id, params: (
        ctx.idx.media_toplevel.get(node_id, EMPTY),
        True,
        None,
        None,
    ),
    ("IGMedia", "children"): lambda ctx, node_id, params: (EMPTY, False, None, None),
    ("IGComment", "replies"): lambda ctx, node_id, params: (
        ctx.idx.ig_replies.get(node_id, EMPTY),
        False,
        None,
        None,
    ),
}


def _edge(
    ctx: _Context,
    node_type: str,
    node_id: str,
    edge: str,
    params: dict,
    fields: list[FieldSpec] | None,
    link_params: dict,
    nested: bool = False,
) -> dict | None:
    """A list response: data, paging (cursors, next, previous) and summary if asked."""
    timeline, newest_first, keep, summary = EDGES[(node_type, edge)](ctx, node_id, params)
    limit = _parse_limit(params.get("limit"))
    after = _decode_cursor(params["after"], "after") if params.get("after") else None
    before = _decode_cursor(params["before"], "before") if params.get("before") else None
    since = _parse_time(params["since"], "since") if params.get("since") else None
    until = _parse_time(params["until"], "until") if params.get("until") else None
    page, has_next, has_prev = timeline.window(
        ctx.now,
        newest_first=newest_first,
        limit=limit,
        after=after,
        before=before,
        since=since,
        until=until,
        keep=keep,
    )
    body: dict[str, Any] = {"data": [_render(ctx, obj.type, obj, fields) for obj in page]}
    if page:
        first, last = _encode_cursor(page[0]), _encode_cursor(page[-1])
        paging: dict[str, Any] = {"cursors": {"before": first, "after": last}}
        if has_prev:
            paging["previous"] = ctx.link(node_id, edge, {**link_params, "before": first})
        if has_next:
            paging["next"] = ctx.link(node_id, edge, {**link_params, "after": last})
        body["paging"] = paging
    if summary is not None and _truthy(params.get("summary")):
        if since is not None or until is not None or keep is not None:
            summary = {**summary, "total_count": timeline.count(ctx.now, keep)}
        body["summary"] = summary
    if nested and not page and "summary" not in body:
        return None  # Graph leaves out an empty nested connection
    return body


def _render(ctx: _Context, node_type: str, node: Any, fields: list[FieldSpec] | None) -> dict:
    """A node with the asked fields (or Graph's defaults for its type)."""
    specs = fields or [FieldSpec(name) for name in DEFAULT_FIELDS[node_type]]
    rec = node.rec if isinstance(node, _Obj) else node
    node_id = str(rec["id"])
    out: dict[str, Any] = {}
    for spec in specs:
        name = spec.name
        if (node_type, name) in EDGES:
            nested_link = dict(spec.mods)
            if spec.children_text is not None:
                nested_link = {"fields": spec.children_text, **nested_link}
            value = _edge(
                ctx, node_type, node_id, name, spec.mods, spec.children, nested_link, nested=True
            )
            if value is not None:
                out[spec.key] = value
            continue
        if name not in KNOWN_FIELDS[node_type] and (name not in rec or name == "_sandbox"):
            raise GraphError(
                f"(#100) Tried accessing nonexisting field ({name}) on node type ({node_type})", 100
            )
        value = _field(ctx, node_type, node, rec, name)
        if value is None:
            continue
        if spec.children is not None:
            if name == "parent" and isinstance(value, dict) and value.get("id") in ctx.idx.nodes:
                parent = ctx.idx.nodes[value["id"]]
                value = _render(ctx, parent.type, parent, spec.children)
            else:
                value = _select(value, spec.children)
        out[spec.key] = value
    return out


def _field(ctx: _Context, node_type: str, node: Any, rec: dict, name: str) -> Any:
    if isinstance(node, _Obj):
        if name == TEXT_FIELD.get(node_type):
            return node.text(ctx.now)
        if node_type == "Post" and name == "updated_time":
            return graph_time(datetime.fromtimestamp(node.last_change(ctx.now), timezone.utc))
        if node_type == "Comment" and name == "comment_count":
            return ctx.idx.comment_replies.get(node.id, EMPTY).count(ctx.now)
        if node_type == "IGMedia" and name == "comments_count":
            # Instagram counts replies too.
            return ctx.idx.media_all.get(node.id, EMPTY).count(ctx.now)
        if name == "like_count" and node_type in ("Comment", "IGMedia", "IGComment"):
            return rec.get(name, 0)  # Graph says 0 rather than leaving it out
    elif node_type == "IGUser" and name == "media_count":
        return ctx.idx.user_media.get(rec["id"], EMPTY).count(ctx.now)
    return rec.get(name)


def _select(value: Any, children: list[FieldSpec]) -> Any:
    """Sub-fields of a plain object value, e.g. from{id,name}."""
    if isinstance(value, list):
        return [_select(v, children) for v in value]
    if not isinstance(value, dict):
        return value
    out = {}
    for child in children:
        if child.name in value:
            inner = value[child.name]
            out[child.key] = _select(inner, child.children) if child.children else inner
    return out


def _expired() -> GraphError:
    return GraphError(
        "Error validating access token: Session has expired on Monday, 23-Nov-26 "
        "07:00:00 PST. The current time is Tuesday, 24-Nov-26 07:00:00 PST.",
        190,
        subcode=463,
        headers={
            "WWW-Authenticate": 'OAuth "Facebook Platform" "invalid_token" '
            '"Error validating access token: Session has '
            'expired"'
        },
    )


def _unknown(node_id: str) -> GraphError:
    return GraphError(
        f"Unsupported get request. Object with ID '{node_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation. Please read the "
        "Graph API documentation at https://developers.facebook.com/docs/graph-api",
        100,
        type_="GraphMethodException",
        subcode=33,
    )
