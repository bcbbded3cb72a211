"""One pass over an X account: its posts, its mentions, and the replies in its conversations.

The pass, in order:

1. get_users_tweets and get_users_mentions, newest first, from the look-back start
   (start_time) — or from the stored since_id when the last pass is older than the
   look-back, so that a gap is caught up. Both are re-read over the look-back rather than
   from since_id alone: it is how the pass learns which conversations are the council's,
   sees edits, and lists its posts and mentions completely (Scope kind "post" and
   "mention") so that deleted ones are marked. The newest id of each is kept as its
   since_id watermark.
2. search_recent_tweets with "(conversation_id:A OR conversation_id:B ...)" over the
   council's conversations among them — those of its own tweets, those a mention starts,
   and those where a mention replies to the council — from the later of the look-back
   start and 7 days ago (recent search sees 7 days), leaving out what the timelines gave
   ("-from:council -@council"). The queries are as long as the access tier allows (512
   characters: 12 conversations a query). With the timelines, each conversation is then
   listed completely since that time (Scope root_id=conversation).

A backfill (``state.until`` set) reads the look-back window that ends there: start_time
its start and end_time its end, never since_id. Recent search reaches back 7 days by X's
clock (the machine's, not the pass's as-of time), so a backfill older than that stores
the timelines' posts and mentions without the other replies in their conversations.

Cost (X bills reads per post returned): a pass reads the look-back's own posts and
mentions and the last 7 days of the other replies in their conversations, each post once,
whether new or not. On a pass with nothing new: users_tweets 1 call, users_mentions 1 call
(while each holds at most 100 tweets in the look-back) and search_recent 1 call per 12
conversations. Lower lookback_days for X, or run it less often, on a tier with a small
monthly read cap.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

from connectors.base import Batch, FetchResult, FetchState, Scope
from connectors.twitter import streams
from connectors.twitter.client import TwitterClient
from connectors.twitter.settings import TwitterSettings

SEARCH_WINDOW = timedelta(days=7)
# Recent search refuses a start_time older than 7 days by its clock, not ours.
SEARCH_MARGIN = timedelta(minutes=5)


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def conversation_queries(
    conversations: list[str], max_chars: int, exclude: str = ""
) -> list[tuple[str, list[str]]]:
    """Queries "(conversation_id:A OR conversation_id:B ...) EXCLUDE" of at most max_chars.

    Returns (query, the conversations it covers) pairs, in the order given.
    """
    tail = f" {exclude}" if exclude else ""

    def query(terms: list[str]) -> str:
        body = " OR ".join(terms)
        return (f"({body}){tail}" if len(terms) > 1 else body + tail) if tail else body

    queries: list[tuple[str, list[str]]] = []
    terms: list[str] = []
    ids: list[str] = []
    for conversation in conversations:
        term = f"conversation_id:{conversation}"
        if terms and len(query([*terms, term])) > max_chars:
            queries.append((query(terms), ids))
            terms, ids = [], []
        terms.append(term)
        ids.append(conversation)
    if terms:
        queries.append((query(terms), ids))
    return queries


class TwitterConnector:
    """The connector for one X account (see the module docstring).

    Args:
        account: `kernel.config.Account`; its id is the numeric X user id.
        credentials: `channelwatch.secrets.Credentials`; the token is an app-only bearer token.
        settings: `TwitterSettings`.
        client: a ready client (tests); built from the above otherwise.
    """

    platform = "twitter"

    def __init__(
        self, account, credentials, settings: TwitterSettings, client: TwitterClient | None = None
    ) -> None:
        self.account = account
        self.settings = settings
        self.client = client or TwitterClient(credentials.conn_id, credentials.token, settings)
        self.tweets = streams.TweetsStream(account)
        self.mentions = streams.MentionsStream(account)
        self.conversations = streams.ConversationsStream(account)
        self._marks: dict[str, str] = {}
        self._scopes: list[Scope] = []

    def result(self) -> FetchResult:
        """Watermarks, complete scopes, calls per endpoint (retries included)."""
        return FetchResult(
            watermarks=dict(self._marks),
            complete_scopes=list(self._scopes),
            api_calls=dict(self.client.api_calls),
            quota_units={},
        )

    def fetch(self, state: FetchState) -> Iterator[Batch]:
        """Yield one batch per page received; see the module docstring."""
        self._marks, self._scopes = {}, []
        try:
            yield from self._pass(state)
        finally:
            self.client.close()

    def _pass(self, state: FetchState) -> Iterator[Batch]:
        account = self.account.id
        lookback = state.lookback_since
        marks: dict[str, str] = {}
        scopes: list[Scope] = []
        conversations: dict[str, int] = {}  # conversation id -> newest tweet id seen in it

        for stream in (self.tweets, self.mentions):
            params = dict(stream.params)
            params["max_results"] = self._size(stream)
            mark = state.watermarks.get(stream.name)
            if (
                state.until is None
                and mark
                and mark.isdigit()
                and streams.snowflake_time(mark) < lookback
            ):
                params["since_id"] = mark
            else:
                params["start_time"] = _iso(lookback)
            if state.until is not None:
                params["end_time"] = _iso(state.until)
            newest = int(mark) if mark and mark.isdigit() else None
            for body, raw in self.client.pages(
                stream.name, stream.method, account, token_param=stream.token_param, **params
            ):
                items = list(stream.items(body))
                for tweet in body.get("data") or []:
                    tweet_id = int(tweet["id"])
                    newest = max(newest or tweet_id, tweet_id)
                    if self._councils(tweet, stream):
                        conversation = str(tweet.get("conversation_id") or tweet["id"])
                        conversations[conversation] = max(
                            conversations.get(conversation, 0), tweet_id
                        )
                yield Batch(items, [raw])
            if newest is not None:
                marks[stream.name] = str(newest)
            scopes.append(Scope(since=lookback, kind=stream.kind))

        # X's clock decides how far back recent search reaches: a live pass's as-of time is
        # the moment it started; a backfill's is in the past, so the machine's clock counts.
        clock = state.now if state.until is None else (state.clock or datetime.now(timezone.utc))
        search_since = max(lookback, clock - SEARCH_WINDOW + SEARCH_MARGIN)
        # A backfill's window wholly beyond recent search's reach searches nothing.
        ordered_limit = 0 if state.until is not None and state.until <= search_since else None
        stream = self.conversations
        ordered = sorted(conversations, key=lambda c: -conversations[c])[:ordered_limit]
        # What the timelines already gave is left out of the search: the council's own
        # tweets and the tweets naming it (complete over the look-back, so the union is
        # complete over each conversation) — every post is read, and paid for, once.
        exclude = f"-from:{account}" + (f" -@{self.account.handle}" if self.account.handle else "")
        for query, ids in conversation_queries(ordered, self.settings.query_max_chars, exclude):
            params = dict(stream.params)
            params.update(max_results=self._size(stream), start_time=_iso(search_since))
            if state.until is not None:
                params["end_time"] = _iso(state.until)
            for body, raw in self.client.pages(
                stream.name, stream.method, query, token_param=stream.token_param, **params
            ):
                yield Batch(list(stream.items(body)), [raw])  # replies only
            scopes += [Scope(since=search_since, root_id=c) for c in ids]

        self._marks, self._scopes = marks, scopes

    def _councils(self, tweet: dict, stream: streams.TwitterStream) -> bool:
        """Is the tweet's conversation one of the council's? Its own tweets' are, and so are
        those a mention starts or that reply to the council. A mention deep in somebody
        else's conversation is not: searching it would read a stranger's (possibly viral)
        thread on every pass."""
        if stream is self.tweets:
            return True
        conversation = str(tweet.get("conversation_id") or tweet["id"])
        return (
            conversation == str(tweet["id"]) or tweet.get("in_reply_to_user_id") == self.account.id
        )

    def _size(self, stream: streams.TwitterStream) -> int:
        low, high = stream.max_results
        return max(low, min(high, self.settings.page_size))
