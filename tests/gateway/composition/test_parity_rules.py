"""The composition rules aligned with @apollo/composition, checked on our output alone (no node needed)."""

from __future__ import annotations

import pytest
from graphql import GraphQLSchema, build_ast_schema, parse

from gateway.composition import CompositionError, compose

from .fixtures_parity import PARITY_ERROR_FIXTURES, PARITY_FIXTURES
from .fixtures_rules import RULE_FIXTURES
from .helpers import field_directives, type_directives


def _schema(name: str) -> GraphQLSchema:
    return build_ast_schema(parse(compose(PARITY_FIXTURES[name])))


def test_a_key_collected_from_several_subgraphs_is_satisfiable() -> None:
    schema = _schema("nested_key_collected")
    assert '@join__type(graph: BILLING, key: "id customer { id region }")' in type_directives(schema, "Order")
    with pytest.raises(CompositionError) as info:
        compose(PARITY_ERROR_FIXTURES["nested_key_uncollectable"])
    assert set(info.value.codes) == {"SATISFIABILITY_ERROR"}
    assert "Order.total" in str(info.value)


def test_requires_may_select_fields_with_arguments() -> None:
    schema = _schema("requires_with_args")
    assert field_directives(schema, "Product", "insurance") == [
        '@join__field(graph: SHIPPING, requires: "price(currency: \\"EUR\\")")'
    ]
    for name, code in (
        ("provides_has_args", "PROVIDES_FIELDS_HAS_ARGS"),
        ("requires_unknown_argument", "REQUIRES_INVALID_FIELDS"),
        ("requires_missing_argument", "REQUIRES_INVALID_FIELDS"),
    ):
        with pytest.raises(CompositionError) as info:
            compose(PARITY_ERROR_FIXTURES[name])
        assert set(info.value.codes) == {code}, name


def test_an_inaccessible_enum_value_may_be_missing_elsewhere() -> None:
    schema = _schema("enum_inaccessible_value")
    status = schema.type_map["Status"]
    assert list(status.values) == ["OPEN", "CLOSED", "ARCHIVED"]  # type: ignore[attr-defined]
    archived = status.values["ARCHIVED"].ast_node  # type: ignore[attr-defined]
    assert [d.name.value for d in archived.directives] == ["inaccessible", "join__enumValue"]
    level = schema.type_map["Level"]  # input only: the inaccessible value stays too
    assert "SECRET" in level.values  # type: ignore[attr-defined]


def test_override_details() -> None:
    schema = _schema("override_details")
    # still used by a's @key / to implement a's interface Node
    for name in ("sku", "title"):
        assert field_directives(schema, "Product", name) == [
            "@join__field(graph: A, usedOverridden: true)",
            '@join__field(graph: B, override: "a")',
        ]
    assert field_directives(schema, "Product", "price") == [
        '@join__field(graph: A, overrideLabel: "percent(50)")',
        '@join__field(graph: B, override: "a", overrideLabel: "percent(50)")',
    ]
    # the source's field is @external: nothing is overridden
    assert field_directives(schema, "Product", "stock") == [
        '@join__field(graph: B, override: "c")',
        "@join__field(graph: C, external: true)",
    ]
    # an unknown source subgraph, in a type only b defines: no @join__field at all
    assert field_directives(schema, "Warehouse", "name") == []
    # a progressive label is kept only when the source has the field (even @external)
    assert field_directives(schema, "Product", "audit") == [
        "@join__field(graph: A)",
        '@join__field(graph: B, override: "c", overrideLabel: "beta")',
        '@join__field(graph: C, external: true, overrideLabel: "beta")',
    ]
    assert field_directives(schema, "Product", "legacy") == ['@join__field(graph: B, override: "nowhere")']
    for name, code in (
        ("override_progressive_external_source", "SATISFIABILITY_ERROR"),
        ("override_label_invalid", "OVERRIDE_LABEL_INVALID"),
    ):
        with pytest.raises(CompositionError) as info:
            compose(PARITY_ERROR_FIXTURES[name])
        assert set(info.value.codes) == {code}, name


def test_federation1_extends_marks_the_key_an_extension() -> None:
    schema = _schema("fed1_extensions")
    assert type_directives(schema, "Store") == [
        '@join__type(graph: INVENTORY, key: "id", extension: true)',
        '@join__type(graph: MODERN, key: "id", extension: true)',
        '@join__type(graph: PRODUCTS, key: "id")',
    ]
    # a Federation 1 `extend type` is a plain definition once upgraded
    assert '@join__type(graph: INVENTORY, key: "upc")' in type_directives(schema, "Product")


def test_compose_directive_keeps_the_definition_link_and_applications() -> None:
    sdl = compose(PARITY_FIXTURES["compose_directive"])
    assert '  @link(url: "https://myspecs.dev/cache/v1.1", import: ["@cached"])\n' in sdl
    assert '  @link(url: "https://myspecs.dev/audit/v0.2", import: [{name: "@audited", as: "@logged"}])\n' in sdl
    # the latest version's definition (b's), the renamed one under its local name, not the uncomposed @hidden
    assert (
        "directive @cached(ttl: Int!, scope: Scope = PUBLIC, tags: [String!]) on FIELD_DEFINITION | OBJECT | INTERFACE"
        in sdl
    )
    assert "directive @logged(reason: String) repeatable on FIELD_DEFINITION | ARGUMENT_DEFINITION" in sdl
    assert "hidden" not in sdl
    schema = build_ast_schema(parse(sdl))
    assert type_directives(schema, "Product")[-1] == "@cached(ttl: 5)"  # non-repeatable: first on a tie
    assert field_directives(schema, "Query", "product")[1:] == ["@cached(ttl: 60)", "@logged", '@logged(reason: "x")']
    assert field_directives(schema, "Product", "price") == ["@join__field(graph: B)", '@cached(ttl: 1, tags: ["x"])']
    assert field_directives(schema, "Product", "stock") == ["@join__field(graph: C)"]  # c does not compose it


@pytest.mark.parametrize("name", sorted(n for n in PARITY_ERROR_FIXTURES if n.startswith("compose_directive")))
def test_compose_directive_errors(name: str) -> None:
    with pytest.raises(CompositionError) as info:
        compose(PARITY_ERROR_FIXTURES[name])
    assert set(info.value.codes) == {"DIRECTIVE_COMPOSITION_ERROR"}


def test_federation1_provides_keeps_only_external_fields() -> None:
    schema = build_ast_schema(parse(compose(RULE_FIXTURES["fed1_inactive_provides"])))
    assert field_directives(schema, "Review", "author") == []  # `name` is not @external: inactive
    assert field_directives(schema, "Review", "editor") == ['@join__field(graph: B, provides: "nick")']
