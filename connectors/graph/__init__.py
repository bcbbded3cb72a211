"""The Graph API (graph.facebook.com), shared by the Facebook and Instagram connectors.

facebook-sdk is imported here only (connectors/graph/client.py), so it could be swapped
without touching the platforms' streams.
"""

from connectors.graph.client import GraphClient
from connectors.graph.connector import GraphConnector
from connectors.graph.errors import ObjectGone
from connectors.graph.settings import GraphSettings
from connectors.graph.streams import GraphStream

__all__ = ["GraphClient", "GraphConnector", "GraphSettings", "GraphStream", "ObjectGone"]
