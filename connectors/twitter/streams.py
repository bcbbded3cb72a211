"""X streams: each listing's contract in class attributes, its parsing in `parse`.

As with the Graph streams (connectors/graph/streams.py) and tap-github's, paging, retries
and errors live once in the client, and the order of the pass in the connector.

X API v2 tweets as canonical items:

- kind: "comment" for a reply (referenced_tweets has replied_to; the council's own
  replies included), else "post" for the council's own tweets, else "mention" (a public
  post naming the council that starts a conversation).
- parent_id: the tweet replied to; root_id: the conversation (its first tweet's id).
- is_own: written by the monitored account.
- author_name: the @username from includes.users (the author_id expansion).
- flags: conversation_id, and in_reply_to_user_id and referenced_tweets when present.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from typing import Any, ClassVar

from kernel.items import Item, parse_timestamp

PLATFORM = "twitter"
TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities,edit_history_tweet_ids"
EXPANSIONS = "author_id,referenced_tweets.id,in_reply_to_user_id"
USER_FIELDS = "username,name"
FIELDS = {"tweet_fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user_fields": USER_FIELDS}
TWITTER_EPOCH_MS = 1288834974657


class TwitterStream:
    """One X API v2 listing of tweets.

    Class attributes:
        name: the endpoint name for call counts, watermarks and raw pages.
        method: the tweepy.Client method (it knows the path, e.g. /2/users/:id/tweets).
        parent: the parent stream's name (None: X's listings are all asked for directly).
        primary_key: the field that identifies a record.
        cursor_field: the id the listing is ordered by, newest first.
        kind: the kind of item whose complete listing the stream gives (deletions).
        token_param: the parameter that takes meta.next_token.
        max_results: the API's bounds of max_results.
        params: the fixed parameters of every call.
        replies_only: keep only the replies a page holds (`items`).
    """

    name: ClassVar[str]
    method: ClassVar[str]
    parent: ClassVar[str | None] = None
    primary_key: ClassVar[str] = "id"
    cursor_field: ClassVar[str] = "id"
    kind: ClassVar[str | None] = None
    token_param: ClassVar[str] = "pagination_token"
    max_results: ClassVar[tuple[int, int]] = (5, 100)
    params: ClassVar[Mapping[str, str]] = FIELDS
    replies_only: ClassVar[bool] = False

    def __init__(self, account) -> None:
        self.account = account

    def parse(self, record: dict, users: dict[str, dict]) -> Item:
        """A v2 Tweet as a canonical item.

        Args:
            record: the tweet.
            users: includes.users of its response, by id (`users_of`).
        """
        account = self.account.id
        tweet_id = str(record["id"])
        author = str(record.get("author_id") or "")
        parent = parent_of(record)
        own = bool(author) and author == account
        kind = "comment" if parent else ("post" if own else "mention")
        conversation = str(record.get("conversation_id") or tweet_id)
        username = (users.get(author) or {}).get("username") or ""
        flags: dict[str, Any] = {"conversation_id": conversation}
        if record.get("in_reply_to_user_id"):
            flags["in_reply_to_user_id"] = str(record["in_reply_to_user_id"])
        if record.get("referenced_tweets"):
            flags["referenced_tweets"] = [
                {"type": r.get("type"), "id": str(r.get("id"))} for r in record["referenced_tweets"]
            ]
        return Item(
            platform=PLATFORM,
            id=tweet_id,
            kind=kind,
            account=account,
            author_id=author,
            author_name=username,
            is_own=own,
            parent_id=parent,
            root_id=conversation,
            created_at=parse_timestamp(record.get("created_at"), "created_at"),
            text=record.get("text") or "",
            url=(
                f"https://x.com/{username}/status/{tweet_id}"
                if username
                else f"https://x.com/i/web/status/{tweet_id}"
            ),
            flags=flags,
        )

    def items(self, body: dict) -> Iterator[Item]:
        """The items of one response page (data, with authors from includes.users)."""
        users = users_of(body)
        for tweet in body.get("data") or []:
            if self.replies_only and parent_of(tweet) is None:
                continue
            yield self.parse(tweet, users)


class TweetsStream(TwitterStream):
    """The council's own tweets (and its replies), newest first; since_id/start_time bound it."""

    name = "twitter.users_tweets"
    method = "get_users_tweets"
    kind = "post"


class MentionsStream(TwitterStream):
    """Public tweets naming the council.

    Replies to its posts are usually among them, since X prefixes a reply with the
    @handles of the conversation.
    """

    name = "twitter.users_mentions"
    method = "get_users_mentions"
    kind = "mention"


class ConversationsStream(TwitterStream):
    """Every reply in the council's conversations, within the last 7 days (recent search).

    The conversations are those the two timelines found. Their roots are the timelines'
    (own posts, mentions); a root that is neither is someone else's post the council
    joined, and is not kept: replies only.
    """

    name = "twitter.search_recent"
    method = "search_recent_tweets"
    token_param = "next_token"
    max_results = (10, 100)
    replies_only = True


def users_of(body: dict) -> dict[str, dict]:
    """includes.users of a response, by id."""
    return {u["id"]: u for u in (body.get("includes") or {}).get("users") or [] if u.get("id")}


def parent_of(tweet: dict) -> str | None:
    """The id of the tweet a tweet replies to (referenced_tweets replied_to), if any."""
    for ref in tweet.get("referenced_tweets") or []:
        if ref.get("type") == "replied_to" and ref.get("id"):
            return str(ref["id"])
    return None


def snowflake_time(tweet_id: str) -> datetime:
    """When an X id was minted: ids are snowflakes, milliseconds since 2010-11-04 << 22."""
    return datetime.fromtimestamp(((int(tweet_id) >> 22) + TWITTER_EPOCH_MS) / 1000, timezone.utc)
