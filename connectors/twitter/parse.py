"""X API v2 tweets as canonical items.

- kind: "comment" for a reply (referenced_tweets has replied_to; the council's own
  replies included), else "post" for the council's own tweets, else "mention" (a public
  post naming the council that starts a conversation).
- parent_id: the tweet replied to; root_id: the conversation (its first tweet's id).
- is_own: written by the monitored account.
- author_name: the @username from includes.users (the author_id expansion).
- flags: conversation_id, and in_reply_to_user_id and referenced_tweets when present.
"""

from __future__ import annotations

from typing import Any, Iterator

from channelwatch.items import Item, parse_timestamp

PLATFORM = "twitter"


def users_of(body: dict) -> dict[str, dict]:
    """includes.users of a response, by id."""
    return {u["id"]: u for u in (body.get("includes") or {}).get("users") or [] if u.get("id")}


def parent_of(tweet: dict) -> str | None:
    for ref in tweet.get("referenced_tweets") or []:
        if ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def tweet_item(tweet: dict, account: str, users: dict[str, dict]) -> Item:
    """A v2 Tweet as a canonical item."""
    tweet_id = str(tweet["id"])
    author = str(tweet.get("author_id") or "")
    parent = parent_of(tweet)
    own = bool(author) and author == account
    kind = "comment" if parent else ("post" if own else "mention")
    conversation = str(tweet.get("conversation_id") or tweet_id)
    username = (users.get(author) or {}).get("username") or ""
    flags: dict[str, Any] = {"conversation_id": conversation}
    if tweet.get("in_reply_to_user_id"):
        flags["in_reply_to_user_id"] = str(tweet["in_reply_to_user_id"])
    if tweet.get("referenced_tweets"):
        flags["referenced_tweets"] = [{"type": r.get("type"), "id": str(r.get("id"))}
                                      for r in tweet["referenced_tweets"]]
    return Item(
        platform=PLATFORM, id=tweet_id, kind=kind, account=account, author_id=author,
        author_name=username, is_own=own, parent_id=parent, root_id=conversation,
        created_at=parse_timestamp(tweet.get("created_at"), "created_at"),
        text=tweet.get("text") or "",
        url=(f"https://x.com/{username}/status/{tweet_id}" if username
             else f"https://x.com/i/web/status/{tweet_id}"),
        flags=flags)


def page_items(body: dict, account: str, replies_only: bool = False) -> Iterator[Item]:
    """The items of one response page (data, with authors from includes.users)."""
    users = users_of(body)
    for tweet in body.get("data") or []:
        if replies_only and parent_of(tweet) is None:
            continue
        yield tweet_item(tweet, account, users)


TWITTER_EPOCH_MS = 1288834974657


def snowflake_time(tweet_id: str):
    """When an X id was minted: ids are snowflakes, milliseconds since 2010-11-04 << 22."""
    from datetime import datetime, timezone

    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000, timezone.utc)
