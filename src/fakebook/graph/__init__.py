"""The Graph API subset fakebook serves under `/{version}/...`."""

from fakebook.graph.routing import ENDPOINTS, handle_graph

__all__ = ["ENDPOINTS", "handle_graph"]
