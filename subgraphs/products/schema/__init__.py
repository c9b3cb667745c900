"""The products subgraph's GraphQL schema (Federation 2)."""

from subgraphs.products.schema.root import Mutation, Query, build_schema

__all__ = ["Mutation", "Query", "build_schema"]
