"""`@composeDirective` edge cases, compared with @apollo/composition like the other fixture sets."""

from __future__ import annotations

from gateway.composition import SubgraphSource

from .fixtures import sources

_FED = (
    'extend schema\n  @link(url: "https://specs.apollo.dev/federation/v2.9", '
    'import: ["@key", "@shareable", "@composeDirective", "@inaccessible"])\n'
)
_LINK = '  @link(url: "https://myspecs.dev/m/v1.0", import: ["@m"])\n'
_COMPOSE = '  @composeDirective(name: "@m")\n'


def _sdl(definitions: str, sdl: str, *, links: str = _LINK, composes: str = _COMPOSE) -> str:
    return _FED + links + composes + definitions + sdl


CUSTOM_DIRECTIVE_FIXTURES: dict[str, list[SubgraphSource]] = {
    # applications on every kind of schema element are kept
    "compose_directive_everywhere": sources(
        (
            "a",
            _sdl(
                "directive @m(v: Int) repeatable on SCALAR | OBJECT | FIELD_DEFINITION | ARGUMENT_DEFINITION"
                " | INTERFACE | UNION | ENUM | ENUM_VALUE | INPUT_OBJECT | INPUT_FIELD_DEFINITION\n",
                """
type Query @m(v: 1) { f(x: In @m(v: 2)): U @m(v: 3) i: I s: S e: E }
scalar S @m(v: 4)
interface I @m(v: 5) { y: Int @m(v: 6) }
type T implements I { y: Int }
union U @m(v: 7) = T
enum E @m(v: 8) { A @m(v: 9) B }
input In @m(v: 10) { z: Int @m(v: 11) }
""",
            ),
        ),
    ),
    # only the composing subgraph's applications are kept
    "compose_directive_in_one_subgraph": sources(
        ("a", _sdl("directive @m on FIELD_DEFINITION\n", "type Query { a: Int @m }\n")),
        ("b", _sdl("directive @m on FIELD_DEFINITION\n", "type Query { b: Int @m }\n", composes="")),
    ),
    "compose_directive_with_executable_locations": sources(
        ("a", _sdl("directive @m on FIELD_DEFINITION | FIELD\n", "type Query { a: Int @m }\n")),
    ),
}

CUSTOM_DIRECTIVE_ERROR_FIXTURES: dict[str, list[SubgraphSource]] = {
    # not imported, only prefixed: the reference composer finds no definition
    "compose_directive_prefixed": sources(
        (
            "a",
            _sdl(
                "directive @mm__m on FIELD_DEFINITION\n",
                "type Query { a: Int @mm__m }\n",
                links='  @link(url: "https://myspecs.dev/m/v1.0", as: "mm")\n',
                composes='  @composeDirective(name: "@mm__m")\n',
            ),
        ),
    ),
    "compose_directive_argument_inaccessible": sources(
        (
            "a",
            _sdl(
                "directive @m(s: Hidden) on FIELD_DEFINITION\n",
                "type Query { a: Int @m }\nenum Hidden @inaccessible { X }\n",
            ),
        ),
    ),
    "compose_directive_from_two_features": sources(
        ("a", _sdl("directive @m on FIELD_DEFINITION\n", "type Query { a: Int @m }\n")),
        (
            "b",
            _sdl(
                "directive @m on FIELD_DEFINITION\n",
                "type Query { b: Int @m }\n",
                links='  @link(url: "https://other.dev/m/v1.0", import: ["@m"])\n',
            ),
        ),
    ),
    # @tag of the tag spec (not of the federation spec) is not composable
    "compose_directive_tag_spec": sources(
        (
            "a",
            _sdl(
                "",
                'type Query { a: Int @tag(name: "x") }\n',
                links='  @link(url: "https://specs.apollo.dev/tag/v0.3")\n',
                composes='  @composeDirective(name: "@tag")\n',
            ),
        ),
    ),
}
