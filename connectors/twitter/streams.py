"""The X streams: what each call is, and its contract.

Like tap-github's streams, each is a small declaration; paging, retries and errors live in
the client, the order of the pass in the connector.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping

TWEET_FIELDS = "created_at,author_id,conversation_id,in_reply_to_user_id,referenced_tweets,entities,edit_history_tweet_ids"
EXPANSIONS = "author_id,referenced_tweets.id,in_reply_to_user_id"
USER_FIELDS = "username,name"
FIELDS = {"tweet_fields": TWEET_FIELDS, "expansions": EXPANSIONS, "user_fields": USER_FIELDS}


@dataclasses.dataclass(frozen=True)
class Stream:
    """One X API v2 listing.

    Attributes:
        name: the endpoint name for call counts, watermarks and raw pages.
        method: the tweepy.Client method.
        primary_key: the field that identifies a record.
        cursor_field: the id the listing is ordered by, newest first.
        kind: the kind of item whose complete listing the stream gives (deletions).
        token_param: the parameter that takes meta.next_token.
        max_results: the API's bounds of max_results.
        params: the fixed parameters of every call.
    """

    name: str
    method: str
    primary_key: str
    cursor_field: str
    kind: str | None
    token_param: str
    max_results: tuple[int, int]
    params: Mapping[str, str]


# The council's own tweets (and its replies), newest first; since_id/start_time bound it.
OWN = Stream(name="twitter.users_tweets", method="get_users_tweets", primary_key="id",
             cursor_field="id", kind="post", token_param="pagination_token",
             max_results=(5, 100), params=FIELDS)

# Public tweets naming the council; replies to its posts usually among them, since X
# prefixes a reply with the @handles of the conversation.
MENTIONS = Stream(name="twitter.users_mentions", method="get_users_mentions", primary_key="id",
                  cursor_field="id", kind="mention", token_param="pagination_token",
                  max_results=(5, 100), params=FIELDS)

# Every reply in the council's conversations, within the last 7 days (recent search).
CONVERSATIONS = Stream(name="twitter.search_recent", method="search_recent_tweets",
                       primary_key="id", cursor_field="id", kind=None, token_param="next_token",
                       max_results=(10, 100), params=FIELDS)
