"""The GraphQL schema of the notifications subgraph."""

from subgraphs.notifications.schema.root import build_schema

__all__ = ["build_schema"]
