"""Settings of the YouTube client, validated once from `channelwatch.config.Api`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class YouTubeSettings(BaseModel):
    """How the YouTube client calls youtube.googleapis.com (or the sandbox).

    Attributes:
        base_url: None for Google; the sandbox's URL otherwise.
        page_size: maxResults of commentThreads and comments (the API's cap: 100);
            playlistItems is capped at 50 by the API.
        timeout_seconds: per HTTP request.
        max_retries: retries after the first attempt (5xx, timeouts, bad bodies, rate limits).
        max_wait_seconds: the longest single wait honoured; a longer Retry-After fails the
            account with RateLimited.
        backoff_seconds: the first exponential back-off wait (doubling, capped at
            max_wait_seconds).
        daily_quota: quota units one run may spend at most (the project's daily budget).
        max_pages: pages of one listing before the client stops (a token that never ends).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    max_retries: Annotated[int, Field(ge=0)] = 5
    max_wait_seconds: Annotated[float, Field(ge=0)] = 900.0
    backoff_seconds: Annotated[float, Field(ge=0)] = 0.5
    daily_quota: Annotated[int, Field(ge=1)] = 10_000
    max_pages: Annotated[int, Field(ge=1)] = 100_000

    @classmethod
    def from_api(cls, api, **overrides) -> "YouTubeSettings":
        """The client settings of a `channelwatch.config.Api`."""
        values = dict(base_url=api.base_url, page_size=api.page_size,
                      timeout_seconds=api.timeout_seconds, max_retries=api.max_retries,
                      max_wait_seconds=api.max_wait_seconds, daily_quota=api.youtube_daily_quota)
        values.update(overrides)
        return cls(**values)
