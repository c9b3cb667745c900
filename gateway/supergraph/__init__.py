"""Supergraph SDL parsing (join/link specs) and API schema derivation."""

from .api_schema import api_document, build_api_schema
from .model import FieldDef, FieldInGraph, Key, Subgraph, Supergraph, TypeDef, TypeInGraph, TypeKind
from .parse import SupergraphError, parse_supergraph

__all__ = [
    "FieldDef",
    "FieldInGraph",
    "Key",
    "Subgraph",
    "Supergraph",
    "SupergraphError",
    "TypeDef",
    "TypeInGraph",
    "TypeKind",
    "api_document",
    "build_api_schema",
    "parse_supergraph",
]
