"""Settings of the Graph API client, validated once from `channelwatch.config.Api`."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class GraphSettings(BaseModel):
    """How the Graph client calls graph.facebook.com (or the sandbox).

    Attributes:
        base_url: None for graph.facebook.com; the sandbox's URL otherwise.
        graph_version: e.g. "v23.0".
        page_size: `limit` of every list, nested connections included (Graph's cap: 100).
        timeout_seconds: per HTTP request.
        max_retries: retries after the first attempt, for 5xx, timeouts, bad bodies and
            throttling.
        max_wait_seconds: the longest single wait honoured; a longer reset fails the account.
        backoff_seconds: the first exponential back-off wait (doubling, capped at
            max_wait_seconds).
        max_pages: pages of one listing before the client stops: facebook-sdk's own paging
            loops forever when a `next` link never ends.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    graph_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v23.0"
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    max_retries: Annotated[int, Field(ge=0)] = 5
    max_wait_seconds: Annotated[float, Field(ge=0)] = 900.0
    backoff_seconds: Annotated[float, Field(ge=0)] = 1.0
    max_pages: Annotated[int, Field(ge=1)] = 100_000

    @classmethod
    def from_api(cls, api) -> "GraphSettings":
        """The client settings of a `channelwatch.config.Api`."""
        return cls(base_url=api.base_url, graph_version=api.graph_version,
                   page_size=api.page_size, timeout_seconds=api.timeout_seconds,
                   max_retries=api.max_retries, max_wait_seconds=api.max_wait_seconds)
