"""The payments subgraph schema (Federation 2)."""

from subgraphs.payments.schema.build import build_schema

__all__ = ["build_schema"]
