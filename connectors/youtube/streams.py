"""The YouTube streams: what each list call is, and its contract.

Like tap-github's streams, each is a small declaration; the paging, retries, errors and
quota live once in the client, and the order of the pass in the connector.
"""

from __future__ import annotations

import dataclasses
from typing import Mapping


@dataclasses.dataclass(frozen=True)
class Stream:
    """One list method of the YouTube Data API.

    Attributes:
        name: the endpoint name used for call counts, watermarks and raw pages.
        resource: the discovery resource ("commentThreads").
        primary_key: the field that identifies a record.
        cursor_field: the time the stream is ordered by, newest first (None: unordered).
        parent: the stream whose records this one is asked for.
        params: the fixed parameters of every call.
    """

    name: str
    resource: str
    primary_key: str
    cursor_field: str | None
    parent: str | None
    params: Mapping[str, str]


CHANNELS = Stream(
    name="youtube.channels", resource="channels", primary_key="id", cursor_field=None,
    parent=None,
    params={"part": "contentDetails", "fields": "items(id,contentDetails/relatedPlaylists/uploads)"})

# The channel's uploads playlist: every public video, newest first. The API caps its
# maxResults at 50 (commentThreads and comments allow 100).
UPLOADS = Stream(
    name="youtube.playlistItems", resource="playlistItems", primary_key="contentDetails.videoId",
    cursor_field="contentDetails.videoPublishedAt", parent="youtube.channels",
    params={"part": "contentDetails"})
UPLOADS_MAX_RESULTS = 50

# Up to 50 ids a call. paidProductPlacementDetails is returned to the video's owner only
# (an OAuth token of the channel); with an API key the part is simply absent.
VIDEOS = Stream(
    name="youtube.videos", resource="videos", primary_key="id", cursor_field="snippet.publishedAt",
    parent="youtube.playlistItems",
    params={"part": "snippet,status,paidProductPlacementDetails"})
VIDEOS_PER_CALL = 50

# Every thread on the channel's videos, ordered by the thread's creation (its top-level
# comment's publishedAt), newest first. Each carries at most 5 replies.
THREADS = Stream(
    name="youtube.commentThreads", resource="commentThreads", primary_key="id",
    cursor_field="snippet.topLevelComment.snippet.publishedAt", parent="youtube.channels",
    params={"part": "snippet,replies", "order": "time", "textFormat": "plainText"})

# Every reply of one thread; called only when a thread has more replies than it carries.
REPLIES = Stream(
    name="youtube.comments", resource="comments", primary_key="id", cursor_field=None,
    parent="youtube.commentThreads", params={"part": "snippet", "textFormat": "plainText"})

# Watermarks (endpoint -> value) kept between passes.
MARK_UPLOADS = "youtube.uploads_playlist"  # the uploads playlist id: channels.list once only
MARK_VIDEOS = UPLOADS.name  # publishedAt of the newest video listed
MARK_THREADS = THREADS.name  # publishedAt of the newest thread listed
