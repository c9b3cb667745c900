"""One test per merge rule, on small hand-written subgraphs."""

from __future__ import annotations

from graphql import print_ast

from gateway.composition import SubgraphSource, compose

from .fixtures import FIXTURES, fed2
from .helpers import compose_schema, field_directives, field_type, type_directives


def test_entity_fields_merge_with_join_type_per_key_and_join_field_where_partial() -> None:
    _, schema = compose_schema(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! name: String }', "@key")),
        ("b", fed2('type Product @key(fields: "id") { id: ID! price: Int }', "@key")),
    )
    assert type_directives(schema, "Product") == [
        '@join__type(graph: A, key: "id")',
        '@join__type(graph: B, key: "id")',
    ]
    assert field_directives(schema, "Product", "id") == []  # defined by every graph of the type
    assert field_directives(schema, "Product", "name") == ["@join__field(graph: A)"]
    assert field_directives(schema, "Product", "price") == ["@join__field(graph: B)"]


def test_query_root_has_join_type_for_every_subgraph() -> None:
    _, schema = compose_schema(
        ("a", fed2('type Query { p: Product }\ntype Product @key(fields: "id") { id: ID! }', "@key")),
        ("b", fed2('type Product @key(fields: "id") { id: ID! x: Int }', "@key")),
    )
    assert type_directives(schema, "Query") == ["@join__type(graph: A)", "@join__type(graph: B)"]
    assert field_directives(schema, "Query", "p") == ["@join__field(graph: A)"]


def test_multiple_compound_and_nested_keys_and_resolvable_false() -> None:
    sdl = compose(FIXTURES["keys"])
    assert '@join__type(graph: A, key: "id customer { id }")' in sdl
    assert '@join__type(graph: A, key: "number")' in sdl
    assert '@join__type(graph: B, key: "id", resolvable: false)' in sdl


def test_output_field_type_nullable_wins_and_join_field_records_each_type() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { t: T }\ntype T @shareable { x: Int! l: [String!]! }", "@shareable")),
        ("b", fed2("type Query { u: T }\ntype T @shareable { x: Int l: [String]! }", "@shareable")),
    )
    assert field_type(schema, "T", "x") == "Int"
    assert field_type(schema, "T", "l") == "[String]!"
    assert field_directives(schema, "T", "x") == [
        '@join__field(graph: A, type: "Int!")',
        '@join__field(graph: B, type: "Int")',
    ]


def test_output_field_type_becomes_the_common_interface() -> None:
    _, schema = compose_schema(
        (
            "a",
            fed2(
                "type Query { n: Node @shareable }\ninterface Node { id: ID! }\n"
                "type Item implements Node @shareable { id: ID! }",
                "@shareable",
            ),
        ),
        ("b", fed2("type Query { n: Item @shareable }\ntype Item @shareable { id: ID! }", "@shareable")),
    )
    assert field_type(schema, "Query", "n") == "Node"
    assert '@join__field(graph: B, type: "Item")' in field_directives(schema, "Query", "n")


def test_input_types_keep_common_fields_and_non_null_wins() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { a(f: F): Int }\ninput F { x: Int! y: String onlyA: Int }")),
        ("b", fed2("type Query { b(f: F): Int }\ninput F { x: Int y: String! }")),
    )
    fields = schema.type_map["F"].fields  # type: ignore[attr-defined]
    assert sorted(fields) == ["x", "y"]
    assert str(fields["x"].type) == "Int!"
    assert str(fields["y"].type) == "String!"


def test_arguments_keep_common_ones_with_defaults() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { t(a: Int = 1, b: Int): Int @shareable }", "@shareable")),
        ("b", fed2("type Query { t(a: Int = 1): Int @shareable }", "@shareable")),
    )
    args = schema.query_type.fields["t"].args  # type: ignore[union-attr]
    assert list(args) == ["a"]
    assert print_ast(args["a"].ast_node.default_value) == "1"


def test_enum_output_only_is_union_of_values() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { a: E }\nenum E { X Y }")),
        ("b", fed2("type Query { b: E }\nenum E { X Z }")),
    )
    values = schema.type_map["E"].values  # type: ignore[attr-defined]
    assert sorted(values) == ["X", "Y", "Z"]
    node = values["X"].ast_node
    assert [d.name.value for d in node.directives] == ["join__enumValue", "join__enumValue"]


def test_enum_input_only_is_intersection_of_values() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { a(e: E): Int }\nenum E { X Y }")),
        ("b", fed2("type Query { b(e: E): Int }\nenum E { X Z }")),
    )
    assert sorted(schema.type_map["E"].values) == ["X"]  # type: ignore[attr-defined]


def test_enum_used_both_ways_with_same_values_composes() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { a(e: E): E }\nenum E { X Y }")),
        ("b", fed2("type Query { b: E }\nenum E { X Y }")),
    )
    assert sorted(schema.type_map["E"].values) == ["X", "Y"]  # type: ignore[attr-defined]


def test_union_members_are_merged_with_join_union_member() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { a: U }\nunion U = A\ntype A { x: Int }")),
        ("b", fed2("type Query { b: U }\nunion U = B\ntype B { y: Int }")),
    )
    assert [t.name for t in schema.type_map["U"].types] == ["A", "B"]  # type: ignore[attr-defined]
    assert type_directives(schema, "U") == [
        "@join__type(graph: A)",
        "@join__type(graph: B)",
        '@join__unionMember(graph: A, member: "A")',
        '@join__unionMember(graph: B, member: "B")',
    ]


def test_interfaces_and_join_implements() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { n: Node }\ninterface Node { id: ID! }\ntype T implements Node { id: ID! }")),
    )
    assert type_directives(schema, "T") == ['@join__implements(graph: A, interface: "Node")', "@join__type(graph: A)"]


def test_descriptions_are_carried() -> None:
    sdl = compose(FIXTURES["basic"])
    assert '"""A product in the catalogue"""\ntype Product' in sdl


def test_shareable_value_type_needs_no_join_field() -> None:
    _, schema = compose_schema(
        ("a", fed2("type Query { a: V @shareable }\ntype V @shareable { x: Int }", "@shareable")),
        ("b", fed2("type Query { a: V @shareable }\ntype V @shareable { x: Int }", "@shareable")),
    )
    assert field_directives(schema, "V", "x") == []
    assert field_directives(schema, "Query", "a") == []  # every subgraph resolves it


def test_external_requires_provides_are_recorded() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["basic"]])
    assert field_directives(schema, "Product", "shippingEstimate") == [
        '@join__field(graph: REVIEWS, requires: "price weight")'
    ]
    assert field_directives(schema, "Product", "price") == [
        "@join__field(graph: PRODUCTS)",
        "@join__field(graph: REVIEWS, external: true)",
    ]
    assert field_directives(schema, "Review", "product") == ['@join__field(graph: REVIEWS, provides: "name")']


def test_override_unused_source_loses_its_join_field() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["override"]])
    assert field_directives(schema, "Product", "name") == ['@join__field(graph: B, override: "a")']


def test_override_of_a_key_field_marks_used_overridden() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["override"]])
    assert field_directives(schema, "Product", "label") == [
        "@join__field(graph: A, usedOverridden: true)",
        '@join__field(graph: C, override: "a")',
    ]


def test_progressive_override_labels_both_sides() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["override"]])
    assert field_directives(schema, "Product", "total") == [
        '@join__field(graph: A, overrideLabel: "percent(25)")',
        '@join__field(graph: B, override: "a", overrideLabel: "percent(25)")',
    ]


def test_interface_object_fields_reach_implementations() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["interface_object"]])
    assert type_directives(schema, "Media") == [
        '@join__type(graph: MEDIA, key: "id")',
        '@join__type(graph: REVIEWS, key: "id", isInterfaceObject: true)',
    ]
    assert field_directives(schema, "Media", "rating") == ["@join__field(graph: REVIEWS)"]
    assert field_directives(schema, "Book", "rating") == ["@join__field"]


def test_inaccessible_and_tag_are_carried_with_their_links() -> None:
    sdl, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["decorations"]])
    assert '@link(url: "https://specs.apollo.dev/inaccessible/v0.2", for: SECURITY)' in sdl
    assert '@link(url: "https://specs.apollo.dev/tag/v0.3")' in sdl
    assert field_directives(schema, "Thing", "hidden") == ["@inaccessible", "@join__field(graph: A)"]
    assert '@tag(name: "entity")' in type_directives(schema, "Thing")
    assert '@tag(name: "public")' in field_directives(schema, "Query", "things")
    assert "inaccessible" in [d.name.value for d in schema.type_map["State"].values["OFF"].ast_node.directives]  # type: ignore[attr-defined]


def test_no_tag_or_inaccessible_link_when_unused() -> None:
    sdl = compose(FIXTURES["keys"])
    assert "specs.apollo.dev/tag" not in sdl and "directive @inaccessible" not in sdl


def test_deprecated_and_specified_by_are_carried() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["decorations"]])
    assert schema.query_type.fields["thing"].deprecation_reason == "use things"  # type: ignore[union-attr]
    assert schema.type_map["Thing"].fields["old"].deprecation_reason == "No longer supported"  # type: ignore[attr-defined]
    assert schema.type_map["DateTime"].specified_by_url == "https://example.com/datetime"  # type: ignore[attr-defined]


def test_extension_types_set_extension_true_in_fed2() -> None:
    _, schema = compose_schema(
        ("a", fed2('type Query { p: P }\ntype P @key(fields: "id") { id: ID! }', "@key")),
        ("b", fed2('extend type P @key(fields: "id") { id: ID! x: Int }', "@key")),
    )
    assert type_directives(schema, "P") == [
        '@join__type(graph: A, key: "id")',
        '@join__type(graph: B, key: "id", extension: true)',
    ]


def test_fed1_subgraph_key_externals_and_extensions_are_upgraded() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["fed1"]])
    assert type_directives(schema, "Product") == [
        '@join__type(graph: INVENTORY, key: "upc")',
        '@join__type(graph: PRODUCTS, key: "upc")',
    ]
    assert field_directives(schema, "Product", "upc") == []
    assert field_directives(schema, "Product", "price") == [
        "@join__field(graph: INVENTORY, external: true)",
        "@join__field(graph: PRODUCTS)",
    ]


def test_fed1_value_types_are_implicitly_shareable() -> None:
    _, schema = compose_schema(
        ("a", "type Query { a: V }\ntype V { x: Int }"),
        ("b", "type Query { b: V }\ntype V { x: Int }"),
    )
    assert field_directives(schema, "V", "x") == []


def test_graph_enum_names_are_sanitised_and_unique() -> None:
    sdl = compose(
        [
            *FIXTURES["root_rename"][:1],
            *[
                SubgraphSource(n, f"http://{i}", fed2(f"type Query {{ f{i}: Int }}"))
                for i, n in enumerate(["my-svc", "my_svc", "2nd"])
            ],
        ]
    )
    # as @apollo/composition: every name that sanitizes alike gets a suffix, in subgraph name order
    assert 'MY_SVC_1 @join__graph(name: "my-svc"' in sdl
    assert 'MY_SVC_2 @join__graph(name: "my_svc"' in sdl
    assert '_2ND @join__graph(name: "2nd"' in sdl


def test_renamed_root_types_become_standard_names() -> None:
    sdl, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["root_rename"]])
    assert "RootQuery" not in sdl
    assert sorted(schema.query_type.fields) == ["bye", "hello"]  # type: ignore[union-attr]
    assert sorted(schema.mutation_type.fields) == ["setBye", "setHello"]  # type: ignore[union-attr]
    assert type_directives(schema, "Mutation") == ["@join__type(graph: A)", "@join__type(graph: B)"]


def test_link_import_renames_and_federation_prefix() -> None:
    _, schema = compose_schema(*[(s.name, s.sdl) for s in FIXTURES["renames"]])
    assert type_directives(schema, "T") == ['@join__type(graph: A, key: "id")', '@join__type(graph: B, key: "id")']
    assert field_directives(schema, "T", "a") == ["@join__field(graph: A)", '@tag(name: "internal")']
    assert field_directives(schema, "T", "b") == ["@inaccessible", "@join__field(graph: B)"]


def test_executable_directives_defined_everywhere_are_kept() -> None:
    directive = "directive @trace(level: Int) on FIELD | QUERY"
    sdl = compose(
        [SubgraphSource(n, f"http://{n}", fed2(f"{directive}\ntype Query {{ {n}: Int }}")) for n in ("a", "b")]
    )
    assert directive in sdl
