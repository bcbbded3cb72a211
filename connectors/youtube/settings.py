"""Settings of the YouTube client, validated once from `kernel.config.Api`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from connectors.settings import ClientSettings


class YouTubeSettings(ClientSettings):
    """How the YouTube client calls youtube.googleapis.com (or the sandbox).

    page_size is maxResults of commentThreads and comments (the API's cap: 100);
    playlistItems is capped at 50 by the API.

    Attributes:
        daily_quota: quota units one run may spend at most (the project's daily budget).
    """

    daily_quota: Annotated[int, Field(ge=1)] = 10_000

    @classmethod
    def api_values(cls, api) -> dict[str, Any]:
        return {**super().api_values(api), "daily_quota": api.youtube_daily_quota}
