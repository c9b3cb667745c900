"""Subgraph SDL and the benchmark query (the Node fixtures in subgraphs.js answer them)."""

from __future__ import annotations

LINK = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])\n'

PRODUCTS_SDL = (
    LINK
    + """
type Query {
  topProducts(first: Int = 5): [Product!]!
}

type Product @key(fields: "upc") {
  upc: ID!
  name: String!
  price: Int!
}
"""
)

REVIEWS_SDL = (
    LINK
    + """
type Review {
  body: String!
  author: String!
}

type Product @key(fields: "upc") {
  upc: ID!
  reviews: [Review!]!
}
"""
)

QUERY = "{ topProducts(first: 5) { upc name reviews { body author } } }"

EXPECTED = {
    "data": {
        "topProducts": [
            {
                "upc": str(i),
                "name": f"Product {i}",
                "reviews": [{"body": f"Review {j} of {i}", "author": f"user{j}"} for j in (1, 2, 3)],
            }
            for i in range(1, 6)
        ]
    }
}

# What the gateway sends to products for QUERY: used for the raw-upstream baseline.
BASELINE_QUERY = "{ topProducts(first: 5) { __typename upc name } }"
