"""One pass over a YouTube channel: videos, comment threads and their replies.

The pass, in order (quota units in brackets, one per call):

1. channels.list [1], only on the first pass: the uploads playlist id, then kept as a
   watermark (it never changes).
2. playlistItems.list [1 per 50 videos] newest first, down to the floor: the older of the
   look-back start and the newest video of the last pass (so a gap longer than the
   look-back is caught up).
3. commentThreads.list(allThreadsRelatedToChannelId, order=time) [1 per 100 threads],
   newest first down to the same kind of floor. Each thread carries at most 5 replies;
   comments.list(parentId) [1 per 100 replies] is called only for a thread whose
   totalReplyCount is larger than what it carries. New comments on older videos arrive
   here too, as new threads.
4. videos.list [1 per 50 ids] for the videos of step 2 and the older videos that the
   threads of step 3 are on, with paidProductPlacementDetails.

Deletions: the pass lists completely the videos published since the look-back start
(Scope kind="post") and every comment on each of them (Scope root_id=video). A reply
created within the look-back to a thread that is older than the look-back is not seen:
order=time sorts threads by creation, and finding it would mean listing every thread of
every older video.

On a pass with nothing new: playlistItems 1, commentThreads 1 (while the look-back holds
at most 100 threads), videos 1 (at most 50 videos), comments 1 per thread of the look-back
that has more than 5 replies — re-read so that edits and deletions in it are seen.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from connectors.base import Batch, FetchResult, FetchState, Scope
from connectors.errors import ConnectorError
from connectors.youtube import streams
from connectors.youtube.client import YouTubeClient
from connectors.youtube.errors import ObjectGone
from connectors.youtube.settings import YouTubeSettings
from kernel.items import parse_timestamp


def _floor(mark: str | None, lookback: datetime) -> datetime:
    if not mark:
        return lookback
    try:
        return min(lookback, parse_timestamp(mark))
    except ValueError:
        return lookback


def _iso(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class YouTubeConnector:
    """The connector for one YouTube channel (see the module docstring).

    Args:
        account: `kernel.config.Account`; its id is the channel id (UC...).
        credentials: `channelwatch.secrets.Credentials`. The token is an API key, or an
            OAuth access token of the channel's owner when extra.auth is "oauth" (or the
            token looks like one, "ya29.").
        settings: `YouTubeSettings`.
        client: a ready client (tests); built from the above otherwise.
    """

    platform = "youtube"

    def __init__(
        self, account, credentials, settings: YouTubeSettings, client: YouTubeClient | None = None
    ) -> None:
        self.account = account
        token = credentials.token
        oauth = str(credentials.extra.get("auth", "")).lower() in (
            "oauth",
            "bearer",
        ) or token.startswith("ya29.")
        self.client = client or YouTubeClient(credentials.conn_id, token, settings, oauth=oauth)
        self.settings = settings
        self.channels = streams.ChannelsStream(account)
        self.uploads = streams.PlaylistItemsStream(account)
        self.threads = streams.CommentThreadsStream(account)
        self.replies = streams.CommentsStream(account)
        self.videos = streams.VideosStream(account)
        self._marks: dict[str, str] = {}
        self._scopes: list[Scope] = []

    def result(self) -> FetchResult:
        """Watermarks, complete scopes, calls and quota units per endpoint (retries included)."""
        return FetchResult(
            watermarks=dict(self._marks),
            complete_scopes=list(self._scopes),
            api_calls=dict(self.client.api_calls),
            quota_units=dict(self.client.quota_units),
        )

    def fetch(self, state: FetchState) -> Iterator[Batch]:
        """Yield one batch per page received; see the module docstring."""
        self._marks, self._scopes = {}, []
        try:
            yield from self._pass(state)
        finally:
            self.client.close()

    def _pass(self, state: FetchState) -> Iterator[Batch]:
        channel = self.account.id
        lookback = state.lookback_since

        uploads = state.watermarks.get(streams.MARK_UPLOADS)
        if not uploads:
            uploads, batch = self._uploads_playlist(channel)
            yield batch
        marks = {streams.MARK_UPLOADS: uploads}

        # 2. the uploads playlist, newest first, down to the floor.
        video_floor = _floor(state.watermarks.get(streams.MARK_VIDEOS), lookback)
        window: dict[str, datetime] = {}
        newest_video: datetime | None = None
        params = {
            **self.uploads.params,
            "playlistId": uploads,
            "maxResults": str(min(self.uploads.max_results, self.settings.page_size)),
        }
        for body, raw in self.client.pages(self.uploads.resource, params):
            oldest = None
            for entry in body.get("items") or []:
                listed = self.uploads.parse(entry)
                if listed is None:
                    continue  # a private or deleted video stays in the playlist without a date
                video_id, published = listed
                newest_video = max(newest_video or published, published)
                oldest = min(oldest or published, published)
                if published >= video_floor:
                    window[video_id] = published
            yield Batch([], [raw])
            if oldest is not None and oldest < video_floor:
                break
        if newest_video is not None:
            marks[streams.MARK_VIDEOS] = _iso(newest_video)

        # 3. every thread of the channel, newest first, down to the floor.
        thread_floor = _floor(state.watermarks.get(streams.MARK_THREADS), lookback)
        referenced: set[str] = set()
        newest_thread: datetime | None = None
        params = {
            **self.threads.params,
            "allThreadsRelatedToChannelId": channel,
            "maxResults": str(self.settings.page_size),
        }
        for body, raw in self.client.pages(self.threads.resource, params):
            items, pages, oldest = [], [raw], None
            for thread in body.get("items") or []:
                created = self.threads.created_at(thread)
                newest_thread = max(newest_thread or created, created)
                oldest = min(oldest or created, created)
                replies = None
                if self.threads.needs_all_replies(thread):
                    try:
                        replies = []
                        for reply_body, reply_raw in self.client.pages(
                            self.replies.resource,
                            {
                                **self.replies.params,
                                "parentId": thread["id"],
                                "maxResults": str(self.settings.page_size),
                            },
                        ):
                            replies.extend(reply_body.get("items") or [])
                            pages.append(reply_raw)
                    except ObjectGone:
                        continue  # deleted since it was listed: left out, so marked deleted
                items.extend(self.threads.parse(thread, replies))
                video = (thread.get("snippet") or {}).get("videoId")
                if video and video not in window:
                    referenced.add(video)
            yield Batch(items, pages)
            if oldest is not None and oldest < thread_floor:
                break
        if newest_thread is not None:
            marks[streams.MARK_THREADS] = _iso(newest_thread)

        # 4. the videos themselves, 50 ids a call.
        ids = list(window) + sorted(referenced)
        for start in range(0, len(ids), self.videos.ids_per_call):
            chunk = ids[start : start + self.videos.ids_per_call]
            body, raw = self.client.list(
                self.videos.resource, {**self.videos.params, "id": ",".join(chunk)}
            )
            yield Batch([self.videos.parse(v) for v in body.get("items") or []], [raw])

        # The uploads were listed down to a floor at or before the look-back start.
        scopes = [Scope(since=lookback, kind="post")]
        scopes += [
            Scope(since=None, root_id=video)
            for video, published in window.items()
            if published >= thread_floor
        ]
        self._scopes = scopes
        self._marks = marks

    def _uploads_playlist(self, channel: str) -> tuple[str, Batch]:
        body, raw = self.client.list(
            self.channels.resource, {**self.channels.params, "id": channel}
        )
        for item in body.get("items") or []:
            uploads = self.channels.parse(item)
            if uploads:
                return uploads, Batch([], [raw])
        raise ConnectorError(
            f"youtube: channel {channel} was not found or has no uploads "
            "playlist; check the account id in the configuration"
        )
