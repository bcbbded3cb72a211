"""Settings of the Graph API client, validated once from `kernel.config.Api`."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from connectors.settings import ClientSettings


class GraphSettings(ClientSettings):
    """How the Graph client calls graph.facebook.com (or the sandbox).

    page_size is the `limit` of every list, nested connections included (Graph's cap: 100);
    max_pages matters here: facebook-sdk's own paging loops forever when a `next` link
    never ends.

    Attributes:
        graph_version: e.g. "v23.0".
    """

    graph_version: Annotated[str, Field(pattern=r"^v\d+\.\d+$")] = "v23.0"
    backoff_seconds: Annotated[float, Field(ge=0)] = 1.0

    @classmethod
    def api_values(cls, api) -> dict[str, Any]:
        return {**super().api_values(api), "graph_version": api.graph_version}
