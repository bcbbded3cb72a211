"""What every connector gives the pipeline, whatever the platform.

A connector is built from an account, its credentials and the `Api` settings, and
`fetch(state)` yields `Batch`es: canonical items plus the raw pages they came from. The
pipeline commits each batch before asking for the next, so a connector streams pages and
never holds a whole account in memory. When the generator is exhausted the pass is
complete, and the connector's `result()` says which watermarks may advance and which
scopes were listed completely (so that items missing from them can be marked deleted).

Connectors never import Airflow; they take credentials as arguments.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Protocol

from kernel.items import Item


@dataclasses.dataclass(frozen=True, slots=True)
class RawPage:
    """One API response as received, with every credential already removed.

    Attributes:
        endpoint: the stream's name, e.g. "facebook.posts", "youtube.commentThreads".
        request: method, path and parameters of the request, credentials removed.
        body: the response body exactly as received (credentials in paging links removed).
        received_at: when it arrived (UTC).
    """

    endpoint: str
    request: str
    body: str
    received_at: datetime


@dataclasses.dataclass(slots=True)
class Batch:
    """Items and the pages they were parsed from; committed together."""

    items: list[Item]
    pages: list[RawPage]


@dataclasses.dataclass(frozen=True, slots=True)
class Scope:
    """A set of items this pass listed completely.

    An item of the account inside the scope that the pass did not return has been deleted.
    With root_id set, the scope is the replies in that thread created at or after `since`
    (None: all of them); with root_id None, every item of the account created at or after
    `since`. With kind set ("post", "comment", ...), only items of that kind: a pass that
    re-lists the account's posts since T, but comments only on those posts, lists
    Scope(since=T, kind="post") — comments created after T on older posts were not re-read.
    """

    since: datetime | None
    root_id: str | None = None
    kind: str | None = None


@dataclasses.dataclass(slots=True)
class FetchState:
    """What the pipeline knows before a pass.

    Attributes:
        watermarks: endpoint -> stored watermark (since_id, timestamp, ...).
        lookback_since: re-read comments on posts created after this time.
        now: the pass's as-of time (UTC): the moment a live pass starts, or the end of the
            window of a backfill.
        until: None for a live pass (the platforms as they are now); for a backfill, the
            end of the window: a connector asks the API for nothing created later (Graph
            ``until``, X ``end_time``) where the API can bound it, and the pipeline drops
            what it returns created after it.
        clock: the machine's clock when the pass runs, for what a platform decides by its
            own clock (how far back X's recent search reaches); None: read it.
    """

    watermarks: Mapping[str, str]
    lookback_since: datetime
    now: datetime
    until: datetime | None = None
    clock: datetime | None = None


@dataclasses.dataclass(slots=True)
class FetchResult:
    """What a completed pass reports.

    Attributes:
        watermarks: endpoint -> new watermark, written only after every batch is committed.
        complete_scopes: scopes listed completely (for deletion detection).
        api_calls: endpoint -> number of HTTP requests made (retries included).
        quota_units: endpoint -> quota units spent (YouTube), else 0.
    """

    watermarks: dict[str, str] = dataclasses.field(default_factory=dict)
    complete_scopes: list[Scope] = dataclasses.field(default_factory=list)
    api_calls: dict[str, int] = dataclasses.field(default_factory=dict)
    quota_units: dict[str, int] = dataclasses.field(default_factory=dict)


class Connector(Protocol):
    """The interface the pipeline uses. See connectors/<platform>/ for implementations."""

    platform: str

    def fetch(self, state: FetchState) -> Iterator[Batch]:
        """Yield batches for one pass; raises connectors.errors.* on failure."""

    def result(self) -> FetchResult:
        """Watermarks, complete scopes and call counts of the pass just finished."""
