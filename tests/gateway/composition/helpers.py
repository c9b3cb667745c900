"""Small helpers to compose fixture subgraphs and inspect the resulting supergraph."""

from __future__ import annotations

from graphql import GraphQLSchema, build_ast_schema, parse, print_ast

from gateway.composition import compose

from .fixtures import sources


def compose_schema(*subgraphs: tuple[str, str]) -> tuple[str, GraphQLSchema]:
    sdl = compose(sources(*subgraphs))
    return sdl, build_ast_schema(parse(sdl))


def type_directives(schema: GraphQLSchema, type_name: str) -> list[str]:
    node = schema.type_map[type_name].ast_node
    assert node is not None
    return [print_ast(d) for d in node.directives or ()]


def field_directives(schema: GraphQLSchema, type_name: str, field_name: str) -> list[str]:
    gtype = schema.type_map[type_name]
    node = gtype.fields[field_name].ast_node  # type: ignore[attr-defined]
    return [print_ast(d) for d in node.directives or ()]


def field_type(schema: GraphQLSchema, type_name: str, field_name: str) -> str:
    return str(schema.type_map[type_name].fields[field_name].type)  # type: ignore[attr-defined]
