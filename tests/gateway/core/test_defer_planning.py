"""@defer in the planner: deferred parts (their own fetches, from the primary's data) only for the
occurrences in force; the others plan as if the directive were not there."""

from __future__ import annotations

from gateway.planning import PreparedOperation, QueryPlan, prepare_operation
from gateway.supergraph import build_api_schema, parse_supergraph

from . import shop


def prepare(query: str) -> PreparedOperation:
    sdl = shop.SUPERGRAPH
    return prepare_operation(query, None, build_api_schema(sdl), parse_supergraph(sdl))


def ops(plan: QueryPlan) -> list[tuple[str, str]]:
    return [(f.service, f.operation) for f in plan.fetches()]


DEFERRED = '{ product(upc: "1") { name ... @defer(label: "r") { reviews { body author { name } } } } }'
INLINE = '{ product(upc: "1") { name ... { reviews { body author { name } } } } }'


def test_without_deferred_parts_the_plan_is_the_plain_one() -> None:
    assert ops(prepare(DEFERRED).plan_for(frozenset())) == ops(prepare(INLINE).plan_for(frozenset()))


def test_a_deferred_part_has_its_own_fetches_after_the_primary() -> None:
    prepared = prepare(DEFERRED)
    plan = prepared.plan_for(frozenset(), prepared.active_defers({}))
    assert ops(QueryPlan(plan.node)) == [("products", 'query {product(upc: "1") {name __typename upc}}')]
    (part,) = plan.deferred
    assert (part.label, part.path, part.depends) == ("r", ("product",), None)
    services = [f.service for f in QueryPlan(part.node).fetches()]
    assert services == ["reviews", "accounts"]  # the hop below the deferred fragment is the part's too
    text = plan.to_text()
    assert text.startswith("QueryPlan {\n  Defer {\n    Primary {\n")
    assert 'Deferred(path: "product", label: "r") {' in text


def test_nested_defers_depend_on_the_enclosing_part() -> None:
    prepared = prepare(
        '{ product(upc: "1") { name ... @defer(label: "a") { price ... @defer(label: "b") { reviews { body } } } } }'
    )
    plan = prepared.plan_for(frozenset(), prepared.active_defers({}))
    by_label = {part.label: part for part in plan.deferred}
    assert by_label["a"].depends is None
    assert by_label["b"].depends == by_label["a"].id
    assert plan.to_json()["node"]["kind"] == "Defer"


def test_defer_if_is_read_per_request() -> None:
    prepared = prepare('query ($d: Boolean!) { product(upc: "1") { name ... @defer(if: $d) { price } } }')
    assert prepared.active_defers({"d": False}) == frozenset()
    assert len(prepared.active_defers({"d": True})) == 1
    assert prepare('{ product(upc: "1") { name ... @defer(if: false) { price } } }').defers == ()
