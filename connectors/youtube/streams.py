"""YouTube streams: each list call's contract in class attributes, its parsing in `parse`.

As with the Graph streams (connectors/graph/streams.py) and tap-github's, paging, retries,
errors and quota live once in the client, and the order of the pass in the connector.

YouTube's native objects as canonical items:

- A video (youtube#video) is a post: text = title, a blank line, description; flags carry
  paid_product_placement when the API returned paidProductPlacementDetails.
- A thread's top-level comment is a comment whose parent and root are the video; its
  flags carry totalReplyCount.
- A reply (youtube#comment with snippet.parentId) is a comment whose parent is the
  top-level comment and whose root is the video. YouTube has one level of replies: a reply
  to a reply is a reply to the thread.
- is_own: the author's channel is the monitored channel.

Comments are asked for with textFormat=plainText, so textDisplay is the text as written
(textOriginal is only guaranteed to the comment's author).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

from kernel.items import Item, parse_timestamp

PLATFORM = "youtube"
WATCH = "https://www.youtube.com/watch?v="


class YouTubeStream:
    """One list method of the YouTube Data API.

    Class attributes:
        name: the endpoint name used for call counts, watermarks and raw pages.
        resource: the discovery resource, the last part of the path
            (GET /youtube/v3/commentThreads).
        parent: the stream whose records this one is asked for (None for the root).
        primary_key: the field that identifies a record.
        cursor_field: the time the stream is ordered by, newest first (None: unordered).
        params: the fixed parameters of every call.
    """

    name: ClassVar[str]
    resource: ClassVar[str]
    parent: ClassVar[str | None] = None
    primary_key: ClassVar[str] = "id"
    cursor_field: ClassVar[str | None] = None
    params: ClassVar[Mapping[str, str]] = {}

    def __init__(self, account) -> None:
        self.account = account


class ChannelsStream(YouTubeStream):
    """The channel itself, read once for the id of its uploads playlist."""

    name = "youtube.channels"
    resource = "channels"
    params = {
        "part": "contentDetails",
        "fields": "items(id,contentDetails/relatedPlaylists/uploads)",
    }

    def parse(self, record: dict) -> str | None:
        """The uploads playlist id, if the record is the account's channel and has one."""
        playlists = (record.get("contentDetails") or {}).get("relatedPlaylists") or {}
        uploads = playlists.get("uploads")
        return uploads if record.get("id") == self.account.id and uploads else None


class PlaylistItemsStream(YouTubeStream):
    """The channel's uploads playlist: every public video, newest first.

    The API caps its maxResults at 50 (commentThreads and comments allow 100).
    """

    name = "youtube.playlistItems"
    resource = "playlistItems"
    parent = "youtube.channels"
    primary_key = "contentDetails.videoId"
    cursor_field = "contentDetails.videoPublishedAt"
    params = {"part": "contentDetails"}
    max_results: ClassVar[int] = 50

    def parse(self, record: dict) -> tuple[str, datetime] | None:
        """(video id, published) of a playlist entry.

        Returns:
            None for a private or deleted video: it stays in the playlist without a date.
        """
        details = record.get("contentDetails") or {}
        if not details.get("videoPublishedAt") or not details.get("videoId"):
            return None
        return details["videoId"], parse_timestamp(details["videoPublishedAt"], "videoPublishedAt")


class VideosStream(YouTubeStream):
    """The videos themselves, by id.

    Up to 50 ids a call. paidProductPlacementDetails is returned to the video's owner only
    (an OAuth token of the channel); with an API key the part is simply absent.
    """

    name = "youtube.videos"
    resource = "videos"
    parent = "youtube.playlistItems"
    cursor_field = "snippet.publishedAt"
    params = {"part": "snippet,status,paidProductPlacementDetails"}
    ids_per_call: ClassVar[int] = 50

    def parse(self, record: dict) -> Item:
        """A youtube#video as a post."""
        snippet = record.get("snippet") or {}
        title = snippet.get("title") or ""
        description = snippet.get("description") or ""
        flags: dict[str, Any] = {}
        placement = record.get("paidProductPlacementDetails")
        if isinstance(placement, dict) and "hasPaidProductPlacement" in placement:
            flags["paid_product_placement"] = bool(placement["hasPaidProductPlacement"])
        channel = snippet.get("channelId") or ""
        return Item(
            platform=PLATFORM,
            id=record["id"],
            kind="post",
            account=self.account.id,
            author_id=channel,
            author_name=snippet.get("channelTitle") or "",
            is_own=channel == self.account.id,
            parent_id=None,
            root_id=record["id"],
            created_at=parse_timestamp(snippet.get("publishedAt"), "snippet.publishedAt"),
            text=f"{title}\n\n{description}" if description else title,
            url=WATCH + record["id"],
            flags=flags,
        )


class CommentsStream(YouTubeStream):
    """Every reply of one thread; called only when a thread has more replies than it carries."""

    name = "youtube.comments"
    resource = "comments"
    parent = "youtube.commentThreads"
    params = {"part": "snippet", "textFormat": "plainText"}

    def parse(self, record: dict, root_id: str, parent_id: str, flags: dict | None = None) -> Item:
        """A youtube#comment (top-level or reply) as a comment.

        Args:
            record: the youtube#comment.
            root_id: the video the comment is on.
            parent_id: the video (a top-level comment) or the top-level comment (a reply).
            flags: the item's flags (a top-level comment's totalReplyCount).
        """
        snippet = record.get("snippet") or {}
        author = (snippet.get("authorChannelId") or {}).get("value") or ""
        text = snippet.get("textDisplay")
        if text is None:
            text = snippet.get("textOriginal") or ""
        return Item(
            platform=PLATFORM,
            id=record["id"],
            kind="comment",
            account=self.account.id,
            author_id=author,
            author_name=snippet.get("authorDisplayName") or "",
            is_own=bool(author) and author == self.account.id,
            parent_id=parent_id,
            root_id=root_id,
            created_at=parse_timestamp(snippet.get("publishedAt"), "snippet.publishedAt"),
            text=text,
            url=f"{WATCH}{root_id}&lc={record['id']}",
            flags=dict(flags or {}),
        )


class CommentThreadsStream(YouTubeStream):
    """Every thread on the channel's videos, newest first.

    Ordered by the thread's creation (its top-level comment's publishedAt). Each carries
    at most 5 replies; its comments (top-level and replies) are youtube#comment objects,
    parsed as CommentsStream parses comments.list's.
    """

    name = "youtube.commentThreads"
    resource = "commentThreads"
    parent = "youtube.channels"
    cursor_field = "snippet.topLevelComment.snippet.publishedAt"
    params = {"part": "snippet,replies", "order": "time", "textFormat": "plainText"}

    def __init__(self, account) -> None:
        super().__init__(account)
        self.comments = CommentsStream(account)

    def parse(self, record: dict, replies: list[dict] | None = None) -> Iterator[Item]:
        """The top-level comment and the replies of a youtube#commentThread.

        Args:
            record: the youtube#commentThread.
            replies: every reply from comments.list; None to use those the thread carries.
        """
        snippet = record.get("snippet") or {}
        top = snippet.get("topLevelComment") or {}
        video = self.root(record)
        yield self.comments.parse(
            top, video, video, {"totalReplyCount": int(snippet.get("totalReplyCount") or 0)}
        )
        carried = (record.get("replies") or {}).get("comments") or []
        for reply in carried if replies is None else replies:
            parent = (reply.get("snippet") or {}).get("parentId") or top.get("id")
            yield self.comments.parse(reply, video, parent)

    @staticmethod
    def root(record: dict) -> str:
        """The video a thread is on (the channel, for a comment about the channel itself)."""
        snippet = record.get("snippet") or {}
        return snippet.get("videoId") or snippet.get("channelId") or ""

    @staticmethod
    def needs_all_replies(record: dict) -> bool:
        """True when the thread has more replies than it carries (comments.list needed)."""
        snippet = record.get("snippet") or {}
        carried = (record.get("replies") or {}).get("comments") or []
        return int(snippet.get("totalReplyCount") or 0) > len(carried)

    @staticmethod
    def created_at(record: dict) -> datetime:
        """When the thread was started: the cursor field, its top-level comment's publishedAt."""
        top = (record.get("snippet") or {}).get("topLevelComment") or {}
        return parse_timestamp((top.get("snippet") or {}).get("publishedAt"), "publishedAt")


# Watermarks (endpoint -> value) kept between passes.
MARK_UPLOADS = "youtube.uploads_playlist"  # the uploads playlist id: channels.list once only
MARK_VIDEOS = PlaylistItemsStream.name  # publishedAt of the newest video listed
MARK_THREADS = CommentThreadsStream.name  # publishedAt of the newest thread listed
