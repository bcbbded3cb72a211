"""Facebook Page streams: the Page's published posts and every comment on them."""

from __future__ import annotations

from connectors.graph.connector import GraphConnector
from connectors.graph.streams import GraphStream, author, ref_id, timestamp
from kernel.items import Item


class CommentsStream(GraphStream):
    """Comments and replies on a post, all in one flat list.

    filter=stream returns replies too (each with `parent`), so one listing per post covers
    every depth; Facebook threads two levels deep, so a reply to a reply names the
    top-level comment as its parent. order=chronological keeps cursors stable while new
    comments arrive at the end.
    """

    name = "facebook.comments"
    edge = "comments"
    parent = "facebook.posts"
    cursor_field = "created_time"
    fields = ("id", "message", "created_time", "from", "parent{id}", "is_hidden", "permalink_url")
    modifiers = (("filter", "stream"), ("order", "chronological"))

    def parse(self, record: dict, root_id: str | None, container_id: str | None) -> Item:
        author_id, author_name = author(record)
        return Item(
            platform="facebook",
            id=str(record["id"]),
            kind="comment",
            account=self.account.id,
            author_id=author_id,
            author_name=author_name,
            # The Page's own replies carry the Page as `from`.
            is_own=author_id == self.account.id,
            parent_id=ref_id(record.get("parent")) or root_id or container_id,
            root_id=root_id or container_id,
            created_at=timestamp(record, "created_time"),
            text=record.get("message") or "",
            url=record.get("permalink_url"),
            flags={"is_hidden": bool(record.get("is_hidden", False))},
        )


class PostsStream(GraphStream):
    """The Page's own posts (published_posts: not visitors' posts, not scheduled ones)."""

    name = "facebook.posts"
    path = "{account_id}/published_posts"
    cursor_field = "created_time"
    fields = (
        "id",
        "message",
        "story",
        "created_time",
        "permalink_url",
        "from",
        "is_published",
        "promotion_status",
        "sponsor_tags",
        "status_type",
    )
    children = (CommentsStream,)

    def parse(self, record: dict, root_id: str | None, container_id: str | None) -> Item:
        author_id, author_name = author(record)
        sponsors = record.get("sponsor_tags") or []
        if isinstance(sponsors, dict):  # a list field may also come as a connection
            sponsors = sponsors.get("data") or []
        names = [str(s.get("name") or s.get("id")) for s in sponsors if isinstance(s, dict)]
        flags = {
            "paid_partnership": bool(names),
            "sponsor_tags": names,
            "is_published": record.get("is_published", True),
        }
        if names:
            flags["sponsor"] = ", ".join(names)
        if record.get("promotion_status"):
            flags["promotion_status"] = record["promotion_status"]
        if record.get("status_type"):
            flags["status_type"] = record["status_type"]
        return Item(
            platform="facebook",
            id=str(record["id"]),
            kind="post",
            account=self.account.id,
            author_id=author_id or self.account.id,
            author_name=author_name or self.account.name,
            is_own=not author_id or author_id == self.account.id,
            parent_id=None,
            root_id=str(record["id"]),
            created_at=timestamp(record, "created_time"),
            text=record.get("message") or record.get("story") or "",
            url=record.get("permalink_url"),
            flags=flags,
        )


class FacebookConnector(GraphConnector):
    """A Facebook Page: posts and their comments, incrementally."""

    platform = "facebook"
    root_stream = PostsStream
