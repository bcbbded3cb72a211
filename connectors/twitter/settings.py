"""Settings of the X client, validated once from `channelwatch.config.Api`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class TwitterSettings(BaseModel):
    """How the X client calls api.twitter.com (or the sandbox).

    Attributes:
        base_url: None for api.twitter.com; the sandbox's URL otherwise.
        page_size: max_results of every call (timelines take 5-100, search 10-100).
        timeout_seconds: per HTTP request.
        max_retries: retries after the first attempt (5xx, timeouts, bad bodies, 429s).
        max_wait_seconds: the longest single rate-limit wait honoured; a later reset fails
            the account with RateLimited (the next run resumes from the watermarks).
        backoff_seconds: the first exponential back-off wait (doubling, capped at
            max_wait_seconds), for 5xx and for a 429 that names no reset.
        query_max_chars: the longest search query the access tier accepts (512 on the
            self-serve tiers); conversations are split over several queries to fit.
        max_pages: pages of one listing before the client stops.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    max_retries: Annotated[int, Field(ge=0)] = 5
    max_wait_seconds: Annotated[float, Field(ge=0)] = 900.0
    backoff_seconds: Annotated[float, Field(ge=0)] = 0.5
    query_max_chars: Annotated[int, Field(ge=64)] = 512
    max_pages: Annotated[int, Field(ge=1)] = 100_000

    @classmethod
    def from_api(cls, api, **overrides) -> "TwitterSettings":
        """The client settings of a `channelwatch.config.Api`."""
        values = dict(base_url=api.base_url, page_size=api.page_size,
                      timeout_seconds=api.timeout_seconds, max_retries=api.max_retries,
                      max_wait_seconds=api.max_wait_seconds)
        values.update(overrides)
        return cls(**values)
