"""The signed-in user's cart: live prices, stock checks, bad quantities, privacy."""

from __future__ import annotations

from tests.products.support import Harness
from tests.support.tokens import bearer

ALICE = bearer("alice")
BOB = bearer("bob")
ADMIN = bearer("admin-1", "catalog:write")
CART = """totalQuantity subtotal { amount currency }
  lines { sku quantity available unitPrice { amount } lineTotal { amount } variant { sku product { id } } }"""
CART_FIELDS = f"""
  __typename
  ... on Cart {{ {CART} }}
  ... on InsufficientStock {{ sku requested available }}
  ... on UnknownVariant {{ sku }}
  ... on CurrencyMismatch {{ sku currency cartCurrency }}
"""
ADD = f"mutation($sku: String!, $q: Int!) {{ addToCart(sku: $sku, quantity: $q) {{ {CART_FIELDS} }} }}"
UPDATE = f"mutation($sku: String!, $q: Int!) {{ updateCartLine(sku: $sku, quantity: $q) {{ {CART_FIELDS} }} }}"
REMOVE = f"mutation($sku: String!) {{ removeCartLine(sku: $sku) {{ {CART} }} }}"
CLEAR = f"mutation {{ clearCart {{ {CART} }} }}"
ME = "{ me { id cart { totalQuantity subtotal { amount currency } lines { sku quantity } } } }"


async def setup_catalog(h: Harness) -> None:
    for name, sku, amount, currency, on_hand in [("Pen", "PEN-1", 250, "USD", 40), ("Ink", "INK-1", 900, "USD", 3),
                                                 ("Euro Pad", "PAD-1", 500, "EUR", 9)]:
        data = await h.data("""mutation($input: CreateProductInput!) { createProduct(input: $input) {
            __typename } }""", {"input": {"name": name, "category": "Office", "variants": [
            {"sku": sku, "price": {"amount": amount, "currency": currency}, "onHand": on_hand}]}}, ADMIN)
        assert data["createProduct"]["__typename"] == "ProductSuccess"


async def add(h: Harness, sku: str, q: int, who: dict | None = None) -> dict:
    return (await h.data(ADD, {"sku": sku, "q": q}, who or ALICE))["addToCart"]


async def test_cart_flow(empty: Harness) -> None:
    await setup_catalog(empty)
    assert (await empty.data(ME, headers=ALICE))["me"] == {"id": "alice", "cart": {
        "totalQuantity": 0, "subtotal": None, "lines": []}}
    cart = await add(empty, "PEN-1", 2)
    assert cart["subtotal"] == {"amount": 500, "currency": "USD"}
    cart = await add(empty, "PEN-1", 3)  # adds to the same line
    cart = await add(empty, "INK-1", 1)
    assert [(line["sku"], line["quantity"]) for line in cart["lines"]] == [("PEN-1", 5), ("INK-1", 1)]
    assert cart["subtotal"] == {"amount": 5 * 250 + 900, "currency": "USD"} and cart["totalQuantity"] == 6
    assert cart["lines"][0]["lineTotal"] == {"amount": 1250} and cart["lines"][0]["variant"]["sku"] == "PEN-1"

    cart = (await empty.data(UPDATE, {"sku": "PEN-1", "q": 1}, ALICE))["updateCartLine"]
    assert cart["subtotal"]["amount"] == 250 + 900
    # Prices come from the live catalog.
    await empty.data("""mutation { setStock(sku: "INK-1", onHand: 3) { __typename } }""", headers=ADMIN)
    product_id = cart["lines"][1]["variant"]["product"]["id"]
    await empty.data("""mutation($id: ID!) { updateProduct(id: $id, input: {variants: [
        {sku: "INK-1", price: {amount: 1000, currency: "USD"}}]}) { __typename } }""", {"id": product_id}, ADMIN)
    me = (await empty.data(ME, headers=ALICE))["me"]["cart"]
    assert me["subtotal"] == {"amount": 250 + 1000, "currency": "USD"}

    cart = (await empty.data(REMOVE, {"sku": "PEN-1"}, ALICE))["removeCartLine"]
    assert [line["sku"] for line in cart["lines"]] == ["INK-1"]
    cart = (await empty.data(REMOVE, {"sku": "PEN-1"}, ALICE))["removeCartLine"]  # idempotent
    assert [line["sku"] for line in cart["lines"]] == ["INK-1"]
    # Bob's cart is his own.
    assert (await empty.data(ME, headers=BOB))["me"]["cart"]["lines"] == []
    cleared = (await empty.data(CLEAR, headers=ALICE))["clearCart"]
    assert cleared["lines"] == [] and cleared["subtotal"] is None
    assert (await empty.data(CLEAR, headers=ALICE))["clearCart"]["lines"] == []


async def test_typed_cart_errors(empty: Harness) -> None:
    await setup_catalog(empty)
    assert await add(empty, "INK-1", 4) == {"__typename": "InsufficientStock", "sku": "INK-1", "requested": 4,
                                            "available": 3}
    await add(empty, "INK-1", 2)
    assert (await add(empty, "INK-1", 2))["__typename"] == "InsufficientStock"  # 2 + 2 > 3
    assert await add(empty, "NOPE-1", 1) == {"__typename": "UnknownVariant", "sku": "NOPE-1"}
    assert await add(empty, "PAD-1", 1) == {"__typename": "CurrencyMismatch", "sku": "PAD-1", "currency": "EUR",
                                            "cartCurrency": "USD"}
    assert (await empty.data(UPDATE, {"sku": "INK-1", "q": 9}, ALICE))["updateCartLine"]["__typename"] == \
        "InsufficientStock"
    assert await empty.error_code(UPDATE, {"sku": "PEN-1", "q": 1}, ALICE) == "NOT_FOUND"
    me = (await empty.data(ME, headers=ALICE))["me"]["cart"]
    assert me["lines"] == [{"sku": "INK-1", "quantity": 2}]


async def test_bad_quantities(empty: Harness) -> None:
    await setup_catalog(empty)
    for q in (0, -1, 1001, 2**31 - 1):
        assert await empty.error_code(ADD, {"sku": "PEN-1", "q": q}, ALICE) == "BAD_USER_INPUT", q
    await add(empty, "PEN-1", 1)
    for q in (0, -5, 5000):
        assert await empty.error_code(UPDATE, {"sku": "PEN-1", "q": q}, ALICE) == "BAD_USER_INPUT", q
    overflow = await empty.execute(ADD, {"sku": "PEN-1", "q": 2**40}, ALICE)
    assert overflow.errors and overflow.data is None
    assert await empty.error_code(ADD, {"sku": "x" * 65, "q": 1}, ALICE) == "BAD_USER_INPUT"
    assert (await empty.data(ME, headers=ALICE))["me"]["cart"]["lines"] == [{"sku": "PEN-1", "quantity": 1}]


async def test_a_line_is_capped_at_1000_units(empty: Harness) -> None:
    await setup_catalog(empty)
    await empty.data("""mutation { setStock(sku: "PEN-1", onHand: 5000) { __typename } }""", headers=ADMIN)
    await add(empty, "PEN-1", 1000)
    assert await empty.error_code(ADD, {"sku": "PEN-1", "q": 1}, ALICE) == "BAD_USER_INPUT"


async def test_cart_needs_a_signed_in_user(empty: Harness) -> None:
    await setup_catalog(empty)
    assert await empty.error_code(ME) == "UNAUTHENTICATED"
    assert await empty.error_code(ADD, {"sku": "PEN-1", "q": 1}) == "UNAUTHENTICATED"
    assert await empty.error_code(CLEAR) == "UNAUTHENTICATED"
    assert await empty.error_code(ME, headers={"Authorization": "Bearer not.a.jwt"}) == "UNAUTHENTICATED"


async def test_user_entity_cart_is_private(empty: Harness) -> None:
    await setup_catalog(empty)
    await add(empty, "PEN-1", 2)
    q = """query($r: [_Any!]!) { _entities(representations: $r) { ... on User { id cart { totalQuantity } } } }"""

    def reps() -> dict:  # fresh each time: strawberry pops `__typename` from the representations it gets
        return {"r": [{"__typename": "User", "id": "alice"}]}

    assert (await empty.data(q, reps(), ALICE))["_entities"] == [{"id": "alice", "cart": {"totalQuantity": 2}}]
    assert await empty.error_code(q, reps(), BOB) == "FORBIDDEN"
    assert (await empty.data(q, reps(), ADMIN))["_entities"][0]["cart"]["totalQuantity"] == 2


async def test_archived_product_in_cart_is_shown_unavailable(empty: Harness) -> None:
    await setup_catalog(empty)
    cart = await add(empty, "PEN-1", 2)
    product_id = cart["lines"][0]["variant"]["product"]["id"]
    await empty.data("mutation($id: ID!) { archiveProduct(id: $id) { __typename } }", {"id": product_id}, ADMIN)
    me = await empty.data(f"{{ me {{ cart {{ {CART} }} }} }}", headers=ALICE)
    assert me["me"]["cart"]["lines"][0]["available"] == 0
    assert (await add(empty, "PEN-1", 1))["__typename"] == "InsufficientStock"
