"""What every platform client needs from `kernel.config.Api`: one frozen model.

Each platform's settings (connectors/<platform>/settings.py) subclass it with their own
fields and limits, so the common knobs are validated and documented once.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class ClientSettings(BaseModel):
    """How a client calls its API (or the sandbox).

    Attributes:
        base_url: None for the platform's own host; the sandbox's URL otherwise.
        page_size: items asked for per page (each API caps it: 100).
        timeout_seconds: per HTTP request.
        max_retries: retries after the first attempt (5xx, timeouts, bad bodies, rate limits).
        max_wait_seconds: the longest single rate-limit wait honoured; a later reset fails
            the account with RateLimited (the next run resumes from the watermarks).
        backoff_seconds: the first exponential back-off wait (doubling, capped at
            max_wait_seconds).
        max_pages: pages of one listing before the client stops (a cursor that never ends).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str | None = None
    page_size: Annotated[int, Field(ge=1, le=100)] = 100
    timeout_seconds: Annotated[float, Field(gt=0)] = 30.0
    max_retries: Annotated[int, Field(ge=0)] = 5
    max_wait_seconds: Annotated[float, Field(ge=0)] = 900.0
    backoff_seconds: Annotated[float, Field(ge=0)] = 0.5
    max_pages: Annotated[int, Field(ge=1)] = 100_000

    @classmethod
    def api_values(cls, api) -> dict[str, Any]:
        """The common values of a `kernel.config.Api`; subclasses add their own."""
        return dict(
            base_url=api.base_url,
            page_size=api.page_size,
            timeout_seconds=api.timeout_seconds,
            max_retries=api.max_retries,
            max_wait_seconds=api.max_wait_seconds,
        )

    @classmethod
    def from_api(cls, api, **overrides):
        """The client settings of a `kernel.config.Api`."""
        return cls(**{**cls.api_values(api), **overrides})
