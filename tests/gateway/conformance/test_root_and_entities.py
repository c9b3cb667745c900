"""Root fields over several subgraphs, shared root fields, entities with single, multiple,
compound and nested keys, ``resolvable: false`` and null entity references / null key fields."""

from __future__ import annotations

from typing import Any

from .conftest import scenario_gateway
from .harness import GatewayClient, Subgraph

FED = 'extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key", "@shareable"])\n'

PRODUCTS: list[dict[str, Any]] = [
    {"upc": "1", "sku": "T-1", "name": "Table", "price": 899, "seller": {"id": "s1", "org": {"id": "o1"}}},
    {"upc": "2", "sku": "C-2", "name": "Couch", "price": 1299, "seller": {"id": "s2", "org": {"id": "o1"}}},
    {"upc": "3", "sku": "CH-3", "name": "Chair", "price": 54, "seller": None},
    {"upc": "4", "sku": "L-4", "name": "Lamp", "price": 20, "seller": {"id": "s3", "org": None}},
    {"upc": "5", "sku": "R-5", "name": "Rug", "price": 150, "seller": {"id": "s1", "org": {"id": "o1"}}},
]
BY_UPC = {p["upc"]: p for p in PRODUCTS}
BY_SKU = {p["sku"]: p for p in PRODUCTS}
VARIANTS = {"1": [("red", "L"), ("blue", "M")], "2": [("grey", "XL")]}
STOCK = {("1", "red"): 3, ("1", "blue"): 0, ("2", "grey"): 7}
IN_STOCK = {"T-1": True, "C-2": False, "CH-3": True, "L-4": True, "R-5": False}
SELLER_NAMES = {"s1": "Acme", "s2": "Globex", "s3": "Initech"}
SELLER_RATINGS: dict[tuple[str, str | None], int] = {("s1", "o1"): 5, ("s2", "o1"): 3}

USERS = {
    "1": {"id": "1", "name": "Ada Lovelace", "username": "@ada", "favoriteUpc": "2"},
    "2": {"id": "2", "name": "Alan Turing", "username": "@alan", "favoriteUpc": None},
    "3": {"id": "3", "name": "Grace Hopper", "username": "@grace", "favoriteUpc": "5"},
}
REVIEWS: list[dict[str, Any]] = [
    {"id": "r1", "body": "Love it!", "author": "1", "product": "1"},
    {"id": "r2", "body": "Too expensive.", "author": "2", "product": "1"},
    {"id": "r3", "body": "Could be better.", "author": "1", "product": "2"},
    {"id": "r4", "body": "Prefer something else.", "author": "2", "product": "3"},
    {"id": "r5", "body": "Product was withdrawn.", "author": "3", "product": None},
]


def _product(p: dict[str, Any]) -> dict[str, Any]:
    return {"__typename": "Product", **p}


def products() -> Subgraph:
    sdl = (
        FED
        + """
type Query {
  topProducts(first: Int = 5): [Product!]!
  product(upc: ID!): Product
  shopName: String! @shareable
}

type Product @key(fields: "upc") @key(fields: "sku") {
  upc: ID!
  sku: String!
  name: String!
  price: Int!
  variants: [Variant!]!
  seller: Seller
}

type Variant @key(fields: "upc color") {
  upc: ID!
  color: String!
  size: String!
}

type Seller @key(fields: "id org { id }") {
  id: ID!
  org: Org
  name: String!
}

type Org @shareable {
  id: ID!
}
"""
    )

    def variants(parent: dict[str, Any], _info: Any) -> list[dict[str, Any]]:
        return [{"upc": parent["upc"], "color": c, "size": s} for c, s in VARIANTS.get(parent["upc"], [])]

    def seller_name(parent: dict[str, Any], _info: Any) -> str:
        return SELLER_NAMES[parent["id"]]

    def product_entity(rep: dict[str, Any]) -> dict[str, Any] | None:
        found = BY_UPC.get(rep["upc"]) if "upc" in rep else BY_SKU.get(rep.get("sku", ""))
        return _product(found) if found else None

    return Subgraph(
        "products",
        sdl,
        resolvers={
            "Query.topProducts": lambda _p, _i, first=5: [_product(p) for p in PRODUCTS[:first]],
            "Query.product": lambda _p, _i, upc: _product(BY_UPC[upc]) if upc in BY_UPC else None,
            "Query.shopName": lambda _p, _i: "Supershop",
            "Product.variants": variants,
            "Seller.name": seller_name,
        },
        entities={"Product": product_entity},
    )


def inventory() -> Subgraph:
    sdl = (
        FED
        + """
type Product @key(fields: "sku") {
  sku: String!
  inStock: Boolean!
}

type Variant @key(fields: "upc color") {
  upc: ID!
  color: String!
  stock: Int!
}

type Seller @key(fields: "id org { id }") {
  id: ID!
  org: Org
  rating: Int
}

type Org @shareable {
  id: ID!
}
"""
    )

    def seller_entity(rep: dict[str, Any]) -> dict[str, Any]:
        org = rep.get("org") or {}
        return {"id": rep["id"], "org": rep.get("org"), "rating": SELLER_RATINGS.get((rep["id"], org.get("id")))}

    return Subgraph(
        "inventory",
        sdl,
        entities={
            "Product": lambda rep: {"sku": rep["sku"], "inStock": IN_STOCK[rep["sku"]]},
            "Variant": lambda rep: {**rep, "stock": STOCK[(rep["upc"], rep["color"])]},
            "Seller": seller_entity,
        },
    )


def accounts() -> Subgraph:
    sdl = (
        FED
        + """
type Query {
  me: User
  user(id: ID!): User
  users: [User!]!
  shopName: String! @shareable
}

type User @key(fields: "id") {
  id: ID!
  name: String!
  username: String!
  favoriteProduct: Product
}

type Product @key(fields: "upc", resolvable: false) {
  upc: ID!
}
"""
    )

    def favorite(parent: dict[str, Any], _info: Any) -> dict[str, Any] | None:
        upc = parent["favoriteUpc"]
        return {"__typename": "Product", "upc": upc} if upc else None

    return Subgraph(
        "accounts",
        sdl,
        resolvers={
            "Query.me": lambda _p, _i: USERS["1"],
            "Query.user": lambda _p, _i, id: USERS.get(id),
            "Query.users": lambda _p, _i: list(USERS.values()),
            "Query.shopName": lambda _p, _i: "Supershop",
            "User.favoriteProduct": favorite,
        },
        entities={"User": lambda rep: USERS.get(rep["id"])},
    )


def reviews() -> Subgraph:
    sdl = (
        FED
        + """
type Query {
  latestReviews: [Review!]!
}

type Review {
  id: ID!
  body: String!
  author: User!
  product: Product
}

type User @key(fields: "id") {
  id: ID!
  reviews: [Review!]!
}

type Product @key(fields: "upc") {
  upc: ID!
  reviews: [Review!]!
}
"""
    )

    def review(r: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": r["id"],
            "body": r["body"],
            "author": {"__typename": "User", "id": r["author"]},
            "product": {"__typename": "Product", "upc": r["product"]} if r["product"] else None,
        }

    return Subgraph(
        "reviews",
        sdl,
        resolvers={"Query.latestReviews": lambda _p, _i: [review(r) for r in reversed(REVIEWS)]},
        entities={
            "User": lambda rep: {"id": rep["id"], "reviews": [review(r) for r in REVIEWS if r["author"] == rep["id"]]},
            "Product": lambda rep: {
                "upc": rep["upc"],
                "reviews": [review(r) for r in REVIEWS if r["product"] == rep["upc"]],
            },
        },
    )


gw = scenario_gateway("entities", lambda: [products(), inventory(), accounts(), reviews()])


def reps(record: Any) -> list[dict[str, Any]]:
    return sorted(record.representations, key=lambda r: sorted((k, str(v)) for k, v in r.items()))


def unique_reps(record: Any) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rep in reps(record):
        if rep not in out:
            out.append(rep)
    return out


class TestRootFields:
    def test_root_fields_from_several_subgraphs_in_one_operation(self, gw: GatewayClient) -> None:
        result = gw.query("{ me { name } topProducts(first: 2) { name } latestReviews { body } }")
        assert result == {
            "data": {
                "me": {"name": "Ada Lovelace"},
                "topProducts": [{"name": "Table"}, {"name": "Couch"}],
                "latestReviews": [
                    {"body": "Product was withdrawn."},
                    {"body": "Prefer something else."},
                    {"body": "Could be better."},
                    {"body": "Too expensive."},
                    {"body": "Love it!"},
                ],
            }
        }
        assert gw.log.subgraphs_called() == ["accounts", "products", "reviews"]
        assert [len(gw.log.calls(s)) for s in ("accounts", "products", "reviews")] == [1, 1, 1]

    def test_root_field_arguments_and_defaults(self, gw: GatewayClient) -> None:
        result = gw.query('{ a: product(upc: "3") { name price } b: product(upc: "99") { name } topProducts { upc } }')
        assert result == {
            "data": {
                "a": {"name": "Chair", "price": 54},
                "b": None,
                "topProducts": [{"upc": "1"}, {"upc": "2"}, {"upc": "3"}, {"upc": "4"}, {"upc": "5"}],
            }
        }

    def test_shareable_root_field_is_fetched_once(self, gw: GatewayClient) -> None:
        assert gw.query("{ shopName }") == {"data": {"shopName": "Supershop"}}
        assert len(gw.log.calls()) == 1
        assert gw.log.calls()[0].subgraph in ("accounts", "products")

    def test_shareable_root_field_joins_the_fetch_of_its_sibling(self, gw: GatewayClient) -> None:
        assert gw.query("{ shopName me { username } }") == {
            "data": {"shopName": "Supershop", "me": {"username": "@ada"}}
        }
        assert [r.subgraph for r in gw.log.calls()] == ["accounts"]
        gw.log.clear()
        assert gw.query("{ topProducts(first: 1) { name } shopName }") == {
            "data": {"topProducts": [{"name": "Table"}], "shopName": "Supershop"}
        }
        assert [r.subgraph for r in gw.log.calls()] == ["products"]

    def test_typename_at_root(self, gw: GatewayClient) -> None:
        assert gw.query("{ __typename me { __typename id } }") == {
            "data": {"__typename": "Query", "me": {"__typename": "User", "id": "1"}}
        }


class TestEntities:
    def test_single_key_entity_join(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "1") { name reviews { body } } }')
        assert result == {
            "data": {"product": {"name": "Table", "reviews": [{"body": "Love it!"}, {"body": "Too expensive."}]}}
        }
        (call,) = gw.log.entity_calls("reviews")
        assert call.representations == [{"__typename": "Product", "upc": "1"}]

    def test_representations_are_batched_and_deduplicated(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts(first: 5) { upc reviews { author { name } } } }")
        assert result == {
            "data": {
                "topProducts": [
                    {
                        "upc": "1",
                        "reviews": [{"author": {"name": "Ada Lovelace"}}, {"author": {"name": "Alan Turing"}}],
                    },
                    {"upc": "2", "reviews": [{"author": {"name": "Ada Lovelace"}}]},
                    {"upc": "3", "reviews": [{"author": {"name": "Alan Turing"}}]},
                    {"upc": "4", "reviews": []},
                    {"upc": "5", "reviews": []},
                ]
            }
        }
        (review_call,) = gw.log.entity_calls("reviews")
        assert len(review_call.representations) == 5
        (account_call,) = gw.log.entity_calls("accounts")
        assert reps(account_call) == [{"__typename": "User", "id": "1"}, {"__typename": "User", "id": "2"}]

    def test_entity_with_multiple_keys_uses_the_key_the_target_knows(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts(first: 3) { name inStock } }")
        assert result == {
            "data": {
                "topProducts": [
                    {"name": "Table", "inStock": True},
                    {"name": "Couch", "inStock": False},
                    {"name": "Chair", "inStock": True},
                ]
            }
        }
        (call,) = gw.log.entity_calls("inventory")
        assert reps(call) == [
            {"__typename": "Product", "sku": "C-2"},
            {"__typename": "Product", "sku": "CH-3"},
            {"__typename": "Product", "sku": "T-1"},
        ]

    def test_entity_reached_through_a_second_key_hop(self, gw: GatewayClient) -> None:
        # reviews knows Product by upc only, inventory by sku only: products bridges the two keys.
        result = gw.query("{ latestReviews { id product { inStock } } }")
        assert result == {
            "data": {
                "latestReviews": [
                    {"id": "r5", "product": None},
                    {"id": "r4", "product": {"inStock": True}},
                    {"id": "r3", "product": {"inStock": False}},
                    {"id": "r2", "product": {"inStock": True}},
                    {"id": "r1", "product": {"inStock": True}},
                ]
            }
        }
        (products_call,) = gw.log.entity_calls("products")
        assert unique_reps(products_call) == [
            {"__typename": "Product", "upc": "1"},
            {"__typename": "Product", "upc": "2"},
            {"__typename": "Product", "upc": "3"},
        ]
        (inventory_call,) = gw.log.entity_calls("inventory")
        assert unique_reps(inventory_call) == [
            {"__typename": "Product", "sku": "C-2"},
            {"__typename": "Product", "sku": "CH-3"},
            {"__typename": "Product", "sku": "T-1"},
        ]

    def test_compound_key(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "1") { variants { color size stock } } }')
        assert result == {
            "data": {
                "product": {
                    "variants": [
                        {"color": "red", "size": "L", "stock": 3},
                        {"color": "blue", "size": "M", "stock": 0},
                    ]
                }
            }
        }
        (call,) = gw.log.entity_calls("inventory")
        assert reps(call) == [
            {"__typename": "Variant", "color": "blue", "upc": "1"},
            {"__typename": "Variant", "color": "red", "upc": "1"},
        ]

    def test_nested_key(self, gw: GatewayClient) -> None:
        result = gw.query("{ topProducts(first: 2) { seller { name rating org { id } } } }")
        assert result == {
            "data": {
                "topProducts": [
                    {"seller": {"name": "Acme", "rating": 5, "org": {"id": "o1"}}},
                    {"seller": {"name": "Globex", "rating": 3, "org": {"id": "o1"}}},
                ]
            }
        }
        (call,) = gw.log.entity_calls("inventory")
        assert reps(call) == [
            {"__typename": "Seller", "id": "s1", "org": {"id": "o1"}},
            {"__typename": "Seller", "id": "s2", "org": {"id": "o1"}},
        ]

    def test_resolvable_false_reference_is_resolved_elsewhere(self, gw: GatewayClient) -> None:
        result = gw.query("{ users { name favoriteProduct { upc name } } }")
        assert result == {
            "data": {
                "users": [
                    {"name": "Ada Lovelace", "favoriteProduct": {"upc": "2", "name": "Couch"}},
                    {"name": "Alan Turing", "favoriteProduct": None},
                    {"name": "Grace Hopper", "favoriteProduct": {"upc": "5", "name": "Rug"}},
                ]
            }
        }
        assert gw.log.entity_calls("accounts") == []
        (call,) = gw.log.entity_calls("products")
        assert reps(call) == [{"__typename": "Product", "upc": "2"}, {"__typename": "Product", "upc": "5"}]

    def test_null_entity_reference_is_not_fetched(self, gw: GatewayClient) -> None:
        result = gw.query('{ product(upc: "3") { name seller { name rating } } }')
        assert result == {"data": {"product": {"name": "Chair", "seller": None}}}
        assert gw.log.entity_calls("inventory") == []

    def test_entity_whose_key_field_is_null(self, gw: GatewayClient) -> None:
        # Seller s3 has org: null, so no complete key can be built for inventory: its rating is null
        # and the rest of the response is intact.
        result = gw.query("{ topProducts(first: 4) { upc seller { id name rating } } }")
        assert result["data"] == {
            "topProducts": [
                {"upc": "1", "seller": {"id": "s1", "name": "Acme", "rating": 5}},
                {"upc": "2", "seller": {"id": "s2", "name": "Globex", "rating": 3}},
                {"upc": "3", "seller": None},
                {"upc": "4", "seller": {"id": "s3", "name": "Initech", "rating": None}},
            ]
        }

    def test_typename_on_entities_from_every_subgraph(self, gw: GatewayClient) -> None:
        result = gw.query(
            '{ product(upc: "2") { __typename inStock reviews { __typename author { __typename username } } } }'
        )
        assert result == {
            "data": {
                "product": {
                    "__typename": "Product",
                    "inStock": False,
                    "reviews": [{"__typename": "Review", "author": {"__typename": "User", "username": "@ada"}}],
                }
            }
        }
