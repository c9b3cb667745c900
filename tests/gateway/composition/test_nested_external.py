"""Fields selected below an @external field in @requires / @provides (Federation 2).

The rule, as in Apollo's `validateFieldSetSelections` (federation-internals, `federation.ts`): a leaf of a
@requires or @provides selection must be @external unless some field above it in the selection is
@external (or, for a field of an interface, some implementation's field is). The sub-selection of an
external field comes from the subgraph that resolves that field, so `dimensions { length }` with
`dimensions @external` needs no @external on `Dimensions.length`. Those nested fields stay ordinary
fields of their value type in the supergraph; only an explicit @external gives them `external: true`.

The expected supergraphs in `expected/` are the output of @apollo/composition 2.14.4 for the fixture
sets (`python -m tests.gateway.composition.refcompare nested_requires nested_provides` re-checks them).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.composition import CompositionError, SubgraphSource, compose
from gateway.composition.fieldset import check_field_set
from gateway.composition.subgraph_parser import parse_all

from .fixtures import ERROR_FIXTURES, FIXTURES, NESTED_ACCOUNTS, NESTED_CATALOG, fed2, sources
from .helpers import compose_schema, field_directives

EXPECTED = Path(__file__).parent / "expected"
FED = ("@key", "@shareable", "@external", "@requires", "@provides")


def issues_of(subgraphs: list[SubgraphSource]) -> list[tuple[str, str]]:
    with pytest.raises(CompositionError) as info:
        compose(subgraphs)
    return [(i.code, i.message) for i in info.value.issues]


def inventory(requires: str, dimensions: str = "length: Int! width: Int! height: Int!") -> str:
    return fed2(
        f"""
type Product @key(fields: "upc") {{
  upc: ID!
  weight: Int! @external
  dimensions: Dimensions! @external
  cost: Int! @requires(fields: "{requires}")
}}
type Dimensions @shareable {{ {dimensions} }}
""",
        *FED,
    )


# -- accepted, with the reference composer's output ------------------------------------------------


@pytest.mark.parametrize("name", ["nested_requires", "nested_provides"])
def test_supergraph_is_the_reference_composers(name: str) -> None:
    assert compose(FIXTURES[name]) == (EXPECTED / f"{name}.graphql").read_text()


def test_nested_requires_fields_stay_ordinary_fields_of_their_value_type() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["nested_requires"]])
    assert field_directives(schema, "Product", "dimensions") == [
        "@join__field(graph: CATALOG)",
        "@join__field(graph: INVENTORY, external: true)",
        "@join__field(graph: WAREHOUSE, external: true)",
    ]
    assert field_directives(schema, "Product", "shippingEstimate") == [
        '@join__field(graph: INVENTORY, requires: "weight dimensions { length width }")'
    ]
    # Not external in inventory: resolvable there like in catalog (no `external: true`).
    assert field_directives(schema, "Dimensions", "length") == [
        "@join__field(graph: CATALOG)",
        "@join__field(graph: INVENTORY)",
    ]
    # Explicitly @external in warehouse's value type: allowed, and recorded as such.
    assert field_directives(schema, "Dimensions", "height") == [
        "@join__field(graph: CATALOG)",
        "@join__field(graph: INVENTORY)",
        "@join__field(graph: WAREHOUSE, external: true)",
    ]
    # Types defined identically everywhere need no @join__field at all.
    assert field_directives(schema, "Box", "volume") == []


def test_nested_provides_fields_stay_ordinary_fields_of_their_value_type() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["nested_provides"]])
    assert field_directives(schema, "Review", "author") == [
        '@join__field(graph: REVIEWS, provides: "username address { city }")'
    ]
    assert field_directives(schema, "Address", "city") == [
        "@join__field(graph: ACCOUNTS)",
        "@join__field(graph: REVIEWS)",
    ]
    assert field_directives(schema, "Address", "street") == [
        "@join__field(graph: ACCOUNTS)",
        "@join__field(graph: FORUM, external: true)",
    ]


def test_nested_requires_through_an_interface_type_condition() -> None:
    """`packaging { weight ... on Box { volume } }`: type conditions pass the external parent on."""
    sdl = compose(FIXTURES["nested_requires"])
    assert 'packagingFee: Int! @join__field(graph: INVENTORY, requires: "packaging { weight ... on Box' in sdl


def test_interface_field_with_an_external_implementation_counts_as_an_external_parent() -> None:
    catalog = fed2(
        """
type Query { products: [Product] }
type Product @key(fields: "id") { id: ID! item: Item @shareable }
interface Item { detail: Detail }
type ItemA implements Item @shareable { detail: Detail }
type Detail @shareable { x: Int y: Int }
""",
        *FED,
    )
    requiring = fed2(
        """
type Product @key(fields: "id") { id: ID! item: Item @shareable cost: Int @requires(fields: "item { detail { x } }") }
interface Item { detail: Detail }
type ItemA implements Item @shareable { detail: Detail @external }
type Detail @shareable { x: Int y: Int }
""",
        *FED,
    )
    sdl = compose(sources(("a", catalog), ("b", requiring)))
    assert 'cost: Int @join__field(graph: B, requires: "item { detail { x } }")' in sdl


def test_external_parent_is_tracked_per_selection_path() -> None:
    (sub,), problems = parse_all([("b", "http://b", inventory("weight dimensions { length width }"))])
    assert not problems
    check = check_field_set(sub, "Product", "weight dimensions { length width } upc")
    assert check.visited == [
        ("Product", "weight"),
        ("Product", "dimensions"),
        ("Dimensions", "length"),
        ("Dimensions", "width"),
        ("Product", "upc"),
    ]
    # Leaves with no external field above them; `Product.weight` is checked (and is external) itself.
    assert check.leaves_outside_external == [("Product", "weight"), ("Product", "upc")]


# -- @external usage -------------------------------------------------------------------------------


def test_nested_fields_without_external_raise_no_external_unused() -> None:
    compose(sources(("catalog", NESTED_CATALOG), ("inventory", inventory("weight dimensions { length }"))))


def test_nested_explicit_external_that_is_not_selected_is_unused() -> None:
    requiring = inventory("weight dimensions { length }", "length: Int! @external width: Int! @external")
    assert issues_of(sources(("catalog", NESTED_CATALOG), ("inventory", requiring))) == [
        (
            "EXTERNAL_UNUSED",
            '[inventory] Field "Dimensions.width" is marked @external but is not used in any federation directive '
            "(@key, @provides, @requires) or to satisfy an interface; the field declaration has no use and should "
            "be removed (or the field should not be @external).",
        )
    ]


# -- still rejected --------------------------------------------------------------------------------


def test_top_level_non_external_field_in_requires_is_rejected() -> None:
    issues = issues_of(ERROR_FIXTURES["requires_missing_external"])
    assert issues == [
        (
            "REQUIRES_FIELDS_MISSING_EXTERNAL",
            '[inventory] On field "Product.shippingEstimate", for @requires(fields: "weight dimensions { length '
            'width }"): field "Product.weight" should not be part of a @requires since it is already provided by '
            "this subgraph (it is not marked @external)",
        ),
        (
            "REQUIRES_FIELDS_MISSING_EXTERNAL",
            '[inventory] On field "Product.deliveryCost", for @requires(fields: "weight"): field "Product.weight" '
            "should not be part of a @requires since it is already provided by this subgraph (it is not marked "
            "@external)",
        ),
    ]


def test_leaf_below_a_non_external_field_is_rejected() -> None:
    """Only an *external* parent exempts a nested leaf: `dims { length }` with `dims` local is not."""
    requiring = fed2(
        """
type Product @key(fields: "upc") {
  upc: ID!
  dimensions: Dimensions! @shareable
  cost: Int @requires(fields: "dimensions { length }")
}
type Dimensions @shareable { length: Int! width: Int! height: Int! }
""",
        *FED,
    )
    catalog = NESTED_CATALOG.replace("dimensions: Dimensions!", "dimensions: Dimensions! @shareable")
    [(code, message)] = issues_of(sources(("catalog", catalog), ("inventory", requiring)))
    assert code == "REQUIRES_FIELDS_MISSING_EXTERNAL"
    assert 'field "Dimensions.length" should not be part of a @requires' in message


def test_top_level_non_external_field_in_provides_is_rejected_even_if_shareable() -> None:
    [(code, message)] = issues_of(ERROR_FIXTURES["provides_missing_external"])
    assert code == "PROVIDES_FIELDS_MISSING_EXTERNAL"
    assert message == (
        '[reviews] On field "Review.author", for @provides(fields: "username address { city }"): field '
        '"User.username" should not be part of a @provides since it is already provided by this subgraph (it is '
        "not marked @external)"
    )


# -- satisfiability of nested selections -----------------------------------------------------------


def test_nested_required_field_that_no_subgraph_can_fetch_is_unsatisfiable() -> None:
    """`dimensions { depth }`: allowed by validation, but catalog (which resolves `dimensions`) lacks `depth`."""
    requiring = inventory("weight dimensions { depth }", "length: Int! width: Int! height: Int! depth: Int!")
    issues = issues_of(sources(("catalog", NESTED_CATALOG), ("inventory", requiring)))
    assert [code for code, _ in issues] == ["SATISFIABILITY_ERROR", "SATISFIABILITY_ERROR"]
    assert 'cannot satisfy @requires(fields: "weight dimensions { depth }") of field "Product.cost"' in issues[0][1]
    assert 'cannot find field "Dimensions.depth"' in issues[1][1]


def test_required_type_condition_the_resolving_subgraph_cannot_take_is_unsatisfiable() -> None:
    catalog = NESTED_CATALOG.replace("type Box implements Packaging @shareable { weight: Int! volume: Int! }", "")
    requiring = fed2(
        """
type Product @key(fields: "upc") {
  upc: ID!
  packaging: Packaging! @external
  fee: Int @requires(fields: "packaging { ... on Box { volume } }")
}
interface Packaging { weight: Int! }
type Box implements Packaging @shareable { weight: Int! volume: Int! }
type Envelope implements Packaging @shareable { weight: Int! }
""",
        *FED,
    )
    issues = issues_of(sources(("catalog", catalog), ("inventory", requiring)))
    assert [code for code, _ in issues] == ["SATISFIABILITY_ERROR"]
    assert 'cannot satisfy @requires(fields: "packaging { ... on Box { volume } }")' in issues[0][1]


def test_fields_outside_a_nested_provides_come_from_the_owner() -> None:
    """`address { street }` below `author @provides(fields: "address { city }")`: fetched from accounts."""
    sdl = compose(sources(("accounts", NESTED_ACCOUNTS), ("reviews", FIXTURES["nested_provides"][1].sdl)))
    assert "street: String! @join__field(graph: ACCOUNTS)" in sdl


def test_required_field_that_itself_requires_is_satisfiable() -> None:
    sdl = compose(FIXTURES["nested_requires"])
    assert 'shippingQuote: String! @join__field(graph: SHIPPING, requires: "deliveryCost")' in sdl


def test_requires_cycle_is_unsatisfiable_not_endless() -> None:
    owner = fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }', *FED)
    b = fed2('type P @key(fields: "id") { id: ID! y: Int @external x: Int @requires(fields: "y") }', *FED)
    c = fed2('type P @key(fields: "id") { id: ID! x: Int @external y: Int @requires(fields: "x") }', *FED)
    issues = issues_of(sources(("a", owner), ("b", b), ("c", c)))
    assert [code for code, _ in issues] == ["SATISFIABILITY_ERROR", "SATISFIABILITY_ERROR"]


def test_shareable_value_type_with_fewer_fields_in_one_subgraph_is_satisfiable() -> None:
    """Any subgraph able to take a query path will do: `t { y }` is answered by `a`, not `b`."""
    a = fed2("type Query { t: T @shareable }\ntype T @shareable { x: Int y: Int }", *FED)
    b = fed2("type Query { t: T @shareable }\ntype T @shareable { x: Int }", *FED)
    assert "y: Int @join__field(graph: A)" in compose(sources(("a", a), ("b", b)))
