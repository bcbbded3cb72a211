"""Settings of the X client, validated once from `kernel.config.Api`."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from connectors.settings import ClientSettings


class TwitterSettings(ClientSettings):
    """How the X client calls api.twitter.com (or the sandbox).

    page_size is max_results of every call (timelines take 5-100, search 10-100).

    Attributes:
        query_max_chars: the longest search query the access tier accepts (512 on the
            self-serve tiers); conversations are split over several queries to fit.
    """

    query_max_chars: Annotated[int, Field(ge=64)] = 512
