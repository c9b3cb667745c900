"""`make demo`'s browse step: two variants of one product read differently (their options)."""

from __future__ import annotations

from scripts.journey import describe_picks


def variant(sku: str, options: list[tuple[str, str]], amount: int, available: int) -> dict[str, object]:
    return {"product": "Coastal Tent II", "sku": sku, "options": [{"name": n, "value": v} for n, v in options],
            "price": {"amount": amount, "currency": "USD"}, "stock": {"available": available}}


def test_two_variants_of_one_product_say_what_differs() -> None:
    lines = describe_picks(
        [variant("CTIO-056-01", [("colour", "Orange"), ("size", "Regular")], 2999, 12),
         variant("CTIO-056-02", [("colour", "Olive"), ("size", "Regular")], 3499, 35)],
        ("bought in step 1", "the declined card of step 2"),
    )
    assert lines == [
        "  Coastal Tent II (colour Orange, size Regular)  CTIO-056-01  29.99 USD, 12 available: bought in step 1",
        "  Coastal Tent II (colour Olive, size Regular)   CTIO-056-02  34.99 USD, 35 available: the declined card "
        "of step 2",
    ]
    assert len(set(lines)) == 2
    bare = describe_picks([{**variant("X-1", [], 100, 3), "options": None}], ("one",))
    assert bare == ["  Coastal Tent II (no options)  X-1  1.00 USD, 3 available: one"]
