"""Supergraph parsing (join v0.1..v0.5, @link/@core, renames) and API schema derivation."""

from __future__ import annotations

import pytest
from graphql import print_schema

from gateway.supergraph import (
    SupergraphError,
    TypeKind,
    build_api_schema,
    parse_supergraph,
)

from . import media, shop

JOIN_V05_DIRECTIVES = """
directive @join__enumValue(graph: join__Graph!) repeatable on ENUM_VALUE
directive @join__field(graph: join__Graph, requires: join__FieldSet, provides: join__FieldSet, type: String,
  external: Boolean, override: String, usedOverridden: Boolean, overrideLabel: String,
  contextArguments: [join__ContextArgument!]) repeatable on FIELD_DEFINITION | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true, isInterfaceObject: Boolean! = false) repeatable
  on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @join__unionMember(graph: join__Graph!, member: String!) repeatable on UNION
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
directive @hidden on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION | SCALAR | ENUM
  | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
directive @tag(name: String!) repeatable on FIELD_DEFINITION | OBJECT | INTERFACE | UNION | ARGUMENT_DEFINITION
  | SCALAR | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION
input join__ContextArgument { name: String! type: String! context: String! selection: join__FieldValue! }
scalar join__FieldSet
scalar join__FieldValue
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
"""

V05 = (
    """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.5", for: EXECUTION)
  @link(url: "https://specs.apollo.dev/inaccessible/v0.2", import: [{name: "@inaccessible", as: "@hidden"}],
        for: SECURITY)
  @link(url: "https://specs.apollo.dev/tag/v0.3")
{ query: Query }
"""
    + JOIN_V05_DIRECTIVES
    + """
enum join__Graph {
  A @join__graph(name: "alpha", url: "http://a/graphql")
  B @join__graph(name: "beta", url: "http://b/graphql")
}
type Query @join__type(graph: A) @join__type(graph: B) {
  widget(id: ID!): Widget @join__field(graph: A)
  secret: String @join__field(graph: B) @hidden
  kind(k: Kind): Kind @join__field(graph: A) @tag(name: "public")
}
type Widget @join__type(graph: A, key: "id") @join__type(graph: B, key: "id", resolvable: false) {
  id: ID!
  price: Float! @join__field(graph: A, override: "beta", overrideLabel: "percent(25)")
    @join__field(graph: B, overrideLabel: "percent(25)")
  legacy: String @join__field(graph: A, usedOverridden: true) @join__field(graph: B, override: "alpha")
  hiddenArg(x: Int @hidden, y: Int): Int @join__field(graph: B)
}
enum Kind @join__type(graph: A) {
  ONE @join__enumValue(graph: A)
  TWO @join__enumValue(graph: A) @hidden
}
type Gone @join__type(graph: B) @hidden { id: ID }
"""
)


def test_parses_subgraphs_types_and_fields() -> None:
    sg = parse_supergraph(shop.SUPERGRAPH)
    assert list(sg.subgraphs) == ["inventory", "products", "reviews", "accounts"]
    assert sg.subgraphs["products"].url == "http://products/graphql"
    assert sg.join_version == "0.3"
    product = sg.types["Product"]
    assert product.kind is TypeKind.OBJECT
    assert {k.graph: k.fields for k in (key for g in product.graphs.values() for key in g.keys)} == {
        "inventory": "upc",
        "products": "upc",
        "reviews": "upc",
    }
    shipping = product.fields["shippingEstimate"].graphs["inventory"]
    assert shipping.requires == "price weight"
    assert product.fields["price"].graphs["inventory"].external
    assert set(product.fields["upc"].graphs) == {"inventory", "products", "reviews"}
    assert sg.types["Review"].fields["author"].graphs["reviews"].provides == "username"
    assert sg.mutation_type == "Mutation"


def test_interface_object_union_members_and_implements() -> None:
    sg = parse_supergraph(media.SUPERGRAPH)
    assert sg.types["Media"].graphs["ratings"].is_interface_object
    assert not sg.types["Media"].graphs["catalog"].is_interface_object
    assert sg.types["Book"].implements == {"catalog": frozenset({"Media"})}
    assert sg.types["SearchResult"].union_members["catalog"] == {"Book", "Movie"}
    assert sg.types["Seller"].graphs["store"].keys[0].resolvable is False
    assert sg.types["Book"].fields["rating"].graphs == {}  # bare @join__field: via @interfaceObject
    assert sg.possible_types["Media"] == {"Book", "Movie"}


def test_join_v05_override_labels_and_renamed_inaccessible() -> None:
    sg = parse_supergraph(V05)
    assert sg.join_version == "0.5"
    assert sg.override_labels == {"percent(25)"}
    price = sg.types["Widget"].fields["price"].graphs
    assert price["alpha"].override == "beta" and price["alpha"].override_label == "percent(25)"
    assert price["beta"].override is None and price["beta"].override_label == "percent(25)"
    assert sg.types["Widget"].fields["legacy"].graphs["alpha"].used_overridden
    assert sg.types["Query"].fields["secret"].inaccessible
    assert sg.types["Gone"].inaccessible
    assert sg.types["Kind"].enum_values == {"ONE": {"alpha"}, "TWO": {"alpha"}}


def test_api_schema_strips_machinery_and_inaccessible() -> None:
    printed = print_schema(build_api_schema(V05))
    assert "join__" not in printed and "link__" not in printed and "@link" not in printed
    assert "secret" not in printed
    assert "Gone" not in printed
    assert "TWO" not in printed
    assert "hiddenArg(y: Int): Int" in printed
    assert "@tag" not in printed and "@hidden" not in printed
    assert "kind(k: Kind): Kind" in printed


def test_api_schema_of_shop() -> None:
    schema = build_api_schema(shop.SUPERGRAPH)
    assert set(schema.query_type.fields) == {"me", "user", "topProducts", "product"}  # type: ignore[union-attr]
    assert "internal" not in schema.get_type("User").fields  # type: ignore[union-attr]
    assert schema.get_type("join__Graph") is None
    assert {d.name for d in schema.directives} == {"include", "skip", "deprecated", "specifiedBy", "oneOf", "defer"}


FED1 = """
schema
  @core(feature: "https://specs.apollo.dev/core/v0.1")
  @core(feature: "https://specs.apollo.dev/join/v0.1", for: EXECUTION)
{ query: Query }

directive @core(as: String, feature: String!, for: core__Purpose) repeatable on SCHEMA
directive @join__field(graph: join__Graph, provides: join__FieldSet, requires: join__FieldSet) on FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__owner(graph: join__Graph!) on INTERFACE | OBJECT
directive @join__type(graph: join__Graph!, key: join__FieldSet) repeatable on INTERFACE | OBJECT

enum core__Purpose { EXECUTION SECURITY }
scalar join__FieldSet
enum join__Graph {
  ACCOUNTS @join__graph(name: "accounts" url: "http://accounts/graphql")
  REVIEWS @join__graph(name: "reviews" url: "http://reviews/graphql")
}

type Query {
  me: User @join__field(graph: ACCOUNTS)
}

type User @join__owner(graph: ACCOUNTS) @join__type(graph: ACCOUNTS, key: "id")
  @join__type(graph: REVIEWS, key: "id") {
  id: ID! @join__field(graph: ACCOUNTS)
  name: String @join__field(graph: ACCOUNTS)
  username: String
  reviews: [Review] @join__field(graph: REVIEWS)
}

type Review @join__owner(graph: REVIEWS) @join__type(graph: REVIEWS, key: "id") {
  id: ID!
  body: String
  meta: Meta
}

type Meta { stars: Int }
"""


def test_fed1_supergraph_fields_belong_to_owner() -> None:
    sg = parse_supergraph(FED1)
    assert sg.join_version == "0.1"
    user = sg.types["User"]
    assert set(user.graphs) == {"accounts", "reviews"}
    assert set(user.fields["username"].graphs) == {"accounts"}  # owner
    assert set(user.fields["reviews"].graphs) == {"reviews"}
    assert set(sg.types["Review"].fields["body"].graphs) == {"reviews"}
    assert sg.types["Meta"].unowned  # Fed 1 value type: every graph can return it
    assert set(sg.types["Meta"].fields["stars"].graphs) == {"accounts", "reviews"}
    printed = print_schema(build_api_schema(FED1))
    assert "core__" not in printed and "join__" not in printed


JOIN_V02 = """
schema
  @link(url: "https://specs.apollo.dev/link/v1.0")
  @link(url: "https://specs.apollo.dev/join/v0.2", for: EXECUTION)
{ query: Query }
directive @join__field(graph: join__Graph!, requires: join__FieldSet, provides: join__FieldSet, type: String,
  external: Boolean, override: String, usedOverridden: Boolean) repeatable on FIELD_DEFINITION
  | INPUT_FIELD_DEFINITION
directive @join__graph(name: String!, url: String!) on ENUM_VALUE
directive @join__implements(graph: join__Graph!, interface: String!) repeatable on OBJECT | INTERFACE
directive @join__type(graph: join__Graph!, key: join__FieldSet, extension: Boolean! = false,
  resolvable: Boolean! = true) repeatable on OBJECT | INTERFACE | UNION | ENUM | INPUT_OBJECT | SCALAR
directive @link(url: String, as: String, for: link__Purpose, import: [link__Import]) repeatable on SCHEMA
scalar join__FieldSet
scalar link__Import
enum link__Purpose { SECURITY EXECUTION }
enum join__Graph { ONE @join__graph(name: "one", url: "http://one") TWO @join__graph(name: "two", url: "http://two") }
type Query @join__type(graph: ONE) @join__type(graph: TWO) {
  things: [Thing] @join__field(graph: ONE)
}
type Thing @join__type(graph: ONE, key: "id") @join__type(graph: TWO, key: "id", extension: true) {
  id: ID!
  size: Int @join__field(graph: TWO, override: "one")
}
"""


def test_join_v02_extension_and_override() -> None:
    sg = parse_supergraph(JOIN_V02)
    assert sg.join_version == "0.2"
    assert sg.types["Thing"].graphs["two"].extension
    assert sg.types["Thing"].fields["size"].graphs["two"].override == "one"
    assert set(sg.types["Thing"].fields["size"].graphs) == {"two"}


def test_renamed_join_prefix() -> None:
    renamed = JOIN_V02.replace("join__", "j__").replace(
        'url: "https://specs.apollo.dev/join/v0.2"', 'url: "https://specs.apollo.dev/join/v0.2", as: "j"'
    )
    sg = parse_supergraph(renamed)
    assert set(sg.subgraphs) == {"one", "two"}
    assert "j__Graph" not in sg.types
    assert sg.types["Thing"].fields["size"].graphs["two"].override == "one"
    assert "j__" not in print_schema(build_api_schema(renamed))


def test_not_a_supergraph() -> None:
    with pytest.raises(SupergraphError):
        parse_supergraph("type Query { a: Int }")
    with pytest.raises(SupergraphError):
        parse_supergraph("type Query {")
