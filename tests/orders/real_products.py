"""Driving the real products service (subgraphs.products) over HTTP from the orders tests."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.tokens import bearer

CATALOG_ADMIN = bearer("catalog-admin", "catalog:write")
INVENTORY = bearer("service:ops", "inventory:write")

CREATE_PRODUCT = """
mutation Create($input: CreateProductInput!) {
  createProduct(input: $input) {
    __typename
    ... on ProductSuccess { product { id name } }
    ... on ValidationError { message }
  }
}
"""
STOCK = "query Stock($skus: [String!]!) { variants(skus: $skus) { sku stock { onHand reserved available } } }"
ADD_TO_CART = ("mutation Add($sku: String!, $quantity: Int!) "
               "{ addToCart(sku: $sku, quantity: $quantity) { __typename } }")
CART = "{ me { cart { lines { sku quantity } } } }"
RELEASE = "mutation Release($orderId: ID!) { releaseStock(orderId: $orderId) { released } }"


class RealProducts:
    def __init__(self, base: str, client: httpx.AsyncClient) -> None:
        self.url = f"{base}/graphql"
        self.client = client

    async def _gql(self, query: str, variables: dict[str, Any] | None = None,
                   headers: dict[str, str] | None = None) -> dict[str, Any]:
        response = await self.client.post(self.url, json={"query": query, "variables": variables or {}},
                                          headers=headers or {})
        body: dict[str, Any] = response.json()
        assert not body.get("errors"), body
        data: dict[str, Any] = body["data"]
        return data

    async def create_product(self, name: str, *variants: tuple[str, int, int], currency: str = "EUR") -> str:
        """A product with variants (sku, price in minor units, units on hand); returns its id."""
        data = await self._gql(CREATE_PRODUCT, {"input": {
            "name": name, "category": "Test",
            "variants": [{"sku": sku, "price": {"amount": price, "currency": currency}, "onHand": on_hand}
                         for sku, price, on_hand in variants]}}, CATALOG_ADMIN)
        result = data["createProduct"]
        assert result["__typename"] == "ProductSuccess", result
        return str(result["product"]["id"])

    async def stock(self, sku: str) -> dict[str, int]:
        data = await self._gql(STOCK, {"skus": [sku]})
        stock: dict[str, int] = data["variants"][0]["stock"]
        return stock

    async def add_to_cart(self, headers: dict[str, str], sku: str, quantity: int) -> None:
        data = await self._gql(ADD_TO_CART, {"sku": sku, "quantity": quantity}, headers)
        assert data["addToCart"]["__typename"] == "Cart", data

    async def cart(self, headers: dict[str, str]) -> list[tuple[str, int]]:
        data = await self._gql(CART, headers=headers)
        return [(line["sku"], line["quantity"]) for line in data["me"]["cart"]["lines"]]

    async def release(self, order_id: str) -> bool:
        """Release an order's stock behind orders' back (as an operator could)."""
        data = await self._gql(RELEASE, {"orderId": order_id}, INVENTORY)
        return bool(data["releaseStock"]["released"])
