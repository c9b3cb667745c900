"""@authenticated / @requiresScopes / @policy and @context / @fromContext reach the supergraph as
the reference composer prints them (compared by hand with @apollo/composition 2.14; the gateway
conformance scenarios run on both composers' supergraphs)."""

from __future__ import annotations

import pytest

from gateway.composition import CompositionError, compose

from .fixtures import fed2, sources

ACCESS = ("@key", "@authenticated", "@requiresScopes", "@policy", "@shareable")


def test_access_control_is_carried_and_merged_as_an_or_of_ands() -> None:
    a = fed2(
        """
type Query { me: User @authenticated }
type User @key(fields: "id") { id: ID! email: String @shareable @requiresScopes(scopes: [["read:email"], ["admin"]]) }
""",
        *ACCESS,
    )
    b = fed2(
        """
type User @key(fields: "id") @policy(policies: [["staff"]]) {
  id: ID!
  email: String @shareable @requiresScopes(scopes: [["pii"]])
}
""",
        *ACCESS,
    )
    sdl = compose(sources(("a", a), ("b", b)))
    assert '@link(url: "https://specs.apollo.dev/authenticated/v0.1", for: SECURITY)' in sdl
    assert '@link(url: "https://specs.apollo.dev/policy/v0.1", for: SECURITY)' in sdl
    assert "me: User @join__field(graph: A) @authenticated" in sdl
    # each subgraph's requirement must hold: (read:email or admin) and pii
    assert '@requiresScopes(scopes: [["admin", "pii"], ["pii", "read:email"]])' in sdl
    assert '  @policy(policies: [["staff"]])\n' in sdl
    assert "scalar requiresScopes__Scope" in sdl and "scalar policy__Policy" in sdl


def test_an_implementation_requirement_reaches_its_interface() -> None:
    sdl = compose(
        sources(
            (
                "a",
                fed2(
                    """
type Query { items: [Item!] }
interface Item { id: ID! }
type Note implements Item { id: ID! }
type Secret implements Item @authenticated { id: ID! code: String @requiresScopes(scopes: [["s"]]) }
""",
                    *ACCESS,
                ),
            )
        )
    )
    assert "interface Item\n  @join__type(graph: A)\n  @authenticated\n" in sdl


CONTEXT = ("@key", "@external", "@context", "@fromContext")


def test_context_arguments_become_join_field_context_arguments() -> None:
    sdl = compose(
        sources(
            (
                "inv",
                fed2(
                    """
type Query { t: T! }
type T @key(fields: "id") @context(name: "ctx") { id: ID! prop: String! u: U! }
type U @key(fields: "id") { id: ID! field(a: String @fromContext(field: "$ctx { prop }"), b: Int): Int! }
""",
                    *CONTEXT,
                ),
            )
        )
    )
    assert '@link(url: "https://specs.apollo.dev/context/v0.1", for: SECURITY)' in sdl
    assert '  @context(name: "inv__ctx")\n' in sdl
    assert (
        'field(b: Int): Int! @join__field(graph: INV, contextArguments: [{context: "inv__ctx", name: "a", '
        'type: "String", selection: " { prop }"}])'
    ) in sdl


def test_a_context_nobody_sets_is_refused() -> None:
    sdl = fed2(
        """
type Query { t: T }
type T @key(fields: "id") { id: ID! f(a: String @fromContext(field: "$nope { id }")): String }
""",
        *CONTEXT,
    )
    with pytest.raises(CompositionError) as raised:
        compose(sources(("a", sdl)))
    assert "CONTEXT_NOT_SET" in str(raised.value)


def test_a_requires_reading_protected_data_must_be_as_protected() -> None:
    a = fed2(
        """
type Query { p: Product }
type Product @key(fields: "id") { id: ID! secret: Int @requiresScopes(scopes: [["s"]]) }
""",
        *ACCESS,
    )
    b = fed2(
        """
type Product @key(fields: "id") {
  id: ID!
  secret: Int @external
  derived: Int @requires(fields: "secret")
  ok: Int @requires(fields: "secret") @requiresScopes(scopes: [["s", "t"]])
}
""",
        "@key",
        "@external",
        "@requires",
        "@requiresScopes",
    )
    with pytest.raises(CompositionError) as raised:
        compose(sources(("a", a), ("b", b)))
    (issue,) = raised.value.issues
    assert issue.code == "MISSING_TRANSITIVE_AUTH_REQUIREMENTS"
    assert issue.message == (  # the reference composer's message
        '[b] Field "Product.derived" does not specify necessary @authenticated, @requiresScopes and/or @policy '
        'auth requirements to access the transitive field "Product.secret" data from @requires selection set.'
    )


def test_a_context_reading_protected_data_must_be_as_protected() -> None:
    a = fed2(
        'type Query { t: T }\ntype T @key(fields: "id") @policy(policies: [["p"]]) { id: ID! prop: String }', *ACCESS
    )
    b = fed2(
        """
type T @key(fields: "id") @context(name: "ctx") { id: ID! prop: String @external u: U }
type U @key(fields: "id") { id: ID! f(a: String @fromContext(field: "$ctx { prop }")): String }
""",
        *CONTEXT,
    )
    with pytest.raises(CompositionError) as raised:
        compose(sources(("a", a), ("b", b)))
    (issue,) = raised.value.issues
    assert issue.message == (
        '[b] Field "U.f" does not specify necessary @authenticated, @requiresScopes and/or @policy auth '
        "requirements to access the transitive data in context b__ctx from @fromContext selection set."
    )
