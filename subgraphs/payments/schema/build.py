"""The payments Federation 2 schema."""

from __future__ import annotations

import strawberry

from subgraphs.kit.schema import federation_schema
from subgraphs.payments.schema.entities import Order, Payment, User
from subgraphs.payments.schema.operations import Mutation, Query


def build_schema() -> strawberry.federation.Schema:
    return federation_schema(query=Query, mutation=Mutation, types=[Payment, Order, User])
