"""Instagram business account streams: media, their comments, and replies to comments."""

from __future__ import annotations

from connectors.graph.connector import GraphConnector
from connectors.graph.streams import GraphStream, timestamp
from kernel.items import Item

COMMENT_FIELDS = ("id", "text", "timestamp", "username", "from", "hidden", "parent_id")


class _CommentLike(GraphStream):
    def parse(self, record: dict, root_id: str | None, container_id: str | None) -> Item:
        who = record.get("from") if isinstance(record.get("from"), dict) else {}
        username = str(record.get("username") or who.get("username") or "")
        author_id = str(who.get("id") or "")
        handle = (self.account.handle or "").lstrip("@").lower()
        return Item(
            platform="instagram",
            id=str(record["id"]),
            kind="comment",
            account=self.account.id,
            author_id=author_id,
            author_name=username,
            # Own replies: the account's username, or its id when `from` is given.
            is_own=bool(handle and username.lower() == handle) or author_id == self.account.id,
            parent_id=str(record.get("parent_id") or container_id or root_id),
            root_id=root_id or container_id,
            created_at=timestamp(record, "timestamp"),
            text=record.get("text") or "",
            url=None,  # Instagram comments have no permalink
            flags={"is_hidden": bool(record.get("hidden", False))},
        )


class RepliesStream(_CommentLike):
    """Replies to one comment (Instagram threads one level: replies have no replies)."""

    name = "instagram.replies"
    edge = "replies"
    parent = "instagram.comments"
    cursor_field = "timestamp"
    fields = COMMENT_FIELDS


class CommentsStream(_CommentLike):
    """Top-level comments on one media, each with its replies expanded."""

    name = "instagram.comments"
    edge = "comments"
    parent = "instagram.media"
    cursor_field = "timestamp"
    fields = COMMENT_FIELDS
    children = (RepliesStream,)


class MediaStream(GraphStream):
    """The account's media (posts, reels, albums)."""

    name = "instagram.media"
    path = "{account_id}/media"
    cursor_field = "timestamp"
    fields = (
        "id",
        "caption",
        "timestamp",
        "permalink",
        "media_type",
        "media_product_type",
        "username",
        "comments_count",
    )
    children = (CommentsStream,)

    def parse(self, record: dict, root_id: str | None, container_id: str | None) -> Item:
        flags = {
            key: record[key] for key in ("media_type", "media_product_type") if record.get(key)
        }
        return Item(
            platform="instagram",
            id=str(record["id"]),
            kind="post",
            account=self.account.id,
            author_id=self.account.id,
            author_name=str(record.get("username") or self.account.handle or self.account.name),
            is_own=True,  # /{ig-user-id}/media lists the account's own media only
            parent_id=None,
            root_id=str(record["id"]),
            created_at=timestamp(record, "timestamp"),
            text=record.get("caption") or "",
            url=record.get("permalink"),
            flags=flags,
        )


class InstagramConnector(GraphConnector):
    """An Instagram business account: media, comments and replies, incrementally."""

    platform = "instagram"
    root_stream = MediaStream
