"""The orders subgraph's GraphQL schema (Federation 2)."""

from __future__ import annotations

import strawberry

from subgraphs.kit.schema import federation_schema
from subgraphs.orders.schema.mutation import Mutation
from subgraphs.orders.schema.query import Query
from subgraphs.orders.schema.subscription import Subscription
from subgraphs.orders.schema.types import Order, Product, User


def build_schema() -> strawberry.federation.Schema:
    return federation_schema(query=Query, mutation=Mutation, subscription=Subscription, types=[Order, User, Product])
