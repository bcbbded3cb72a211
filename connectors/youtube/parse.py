"""YouTube's native objects as canonical items.

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

from typing import Any, Iterator

from channelwatch.items import Item, parse_timestamp

PLATFORM = "youtube"
WATCH = "https://www.youtube.com/watch?v="


def video_item(video: dict, account: str) -> Item:
    """A youtube#video as a post."""
    snippet = video.get("snippet") or {}
    title = snippet.get("title") or ""
    description = snippet.get("description") or ""
    flags: dict[str, Any] = {}
    placement = video.get("paidProductPlacementDetails")
    if isinstance(placement, dict) and "hasPaidProductPlacement" in placement:
        flags["paid_product_placement"] = bool(placement["hasPaidProductPlacement"])
    channel = snippet.get("channelId") or ""
    return Item(
        platform=PLATFORM, id=video["id"], kind="post", account=account,
        author_id=channel, author_name=snippet.get("channelTitle") or "",
        is_own=channel == account, parent_id=None, root_id=video["id"],
        created_at=parse_timestamp(snippet.get("publishedAt"), "snippet.publishedAt"),
        text=f"{title}\n\n{description}" if description else title,
        url=WATCH + video["id"], flags=flags)


def comment_item(comment: dict, account: str, video_id: str, parent_id: str,
                 flags: dict | None = None) -> Item:
    """A youtube#comment (top-level or reply) as a comment."""
    snippet = comment.get("snippet") or {}
    author = (snippet.get("authorChannelId") or {}).get("value") or ""
    text = snippet.get("textDisplay")
    if text is None:
        text = snippet.get("textOriginal") or ""
    return Item(
        platform=PLATFORM, id=comment["id"], kind="comment", account=account,
        author_id=author, author_name=snippet.get("authorDisplayName") or "",
        is_own=bool(author) and author == account, parent_id=parent_id, root_id=video_id,
        created_at=parse_timestamp(snippet.get("publishedAt"), "snippet.publishedAt"),
        text=text, url=f"{WATCH}{video_id}&lc={comment['id']}", flags=dict(flags or {}))


def thread_root(thread: dict) -> str:
    """The video a thread is on (the channel, for a comment about the channel itself)."""
    snippet = thread.get("snippet") or {}
    return snippet.get("videoId") or snippet.get("channelId") or ""


def thread_items(thread: dict, account: str, replies: list[dict] | None = None) -> Iterator[Item]:
    """The top-level comment and the replies of a youtube#commentThread.

    Args:
        replies: every reply from comments.list; None to use those the thread carries.
    """
    snippet = thread.get("snippet") or {}
    top = snippet.get("topLevelComment") or {}
    video = thread_root(thread)
    yield comment_item(top, account, video, video,
                       {"totalReplyCount": int(snippet.get("totalReplyCount") or 0)})
    carried = (thread.get("replies") or {}).get("comments") or []
    for reply in (carried if replies is None else replies):
        parent = (reply.get("snippet") or {}).get("parentId") or top.get("id")
        yield comment_item(reply, account, video, parent)


def needs_all_replies(thread: dict) -> bool:
    """True when the thread has more replies than it carries (comments.list needed)."""
    snippet = thread.get("snippet") or {}
    carried = (thread.get("replies") or {}).get("comments") or []
    return int(snippet.get("totalReplyCount") or 0) > len(carried)


def thread_time(thread: dict):
    top = (thread.get("snippet") or {}).get("topLevelComment") or {}
    return parse_timestamp((top.get("snippet") or {}).get("publishedAt"), "publishedAt")
