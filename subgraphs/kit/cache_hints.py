"""Cache hints for the gateway's entity and query cache (docs/gateway.md, "Entity and query cache").

A service declares a :class:`CachePolicy`: hints by schema coordinate (`Query.products`,
`Product.inStock`) and by type (`Product`, `Cart`). The :func:`cache_hints` schema extension reads
the operation (statically, once per document) and answers with the `Cache-Control` header the gateway
follows: the lowest max-age of every hint the operation meets, `private` when any is, `no-store` when
any hint is, when a root field (or an `_entities` type) has none, for mutations, and for a response
with errors.

It also puts what the resolvers asked to invalidate (:meth:`RequestContext.invalidate_entity`) into the
response's `extensions.invalidation`, which the gateway applies before it answers the client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    get_named_type,
    visit,
)
from strawberry.extensions import SchemaExtension

NO_STORE = "no-store"
KNOWN_DOCUMENTS = 512


@dataclass(frozen=True, slots=True)
class Hint:
    """`max_age` 0 means: never cache (no-store)."""

    max_age: int
    private: bool = False


NEVER = Hint(0)


@dataclass(eq=False)
class CachePolicy:
    fields: Mapping[str, Hint] = field(default_factory=dict)
    types: Mapping[str, Hint] = field(default_factory=dict)
    # the header per (document text, operation name): the gateway sends the same few texts
    _known: dict[tuple[str, str | None], str] = field(default_factory=dict, repr=False)

    def header(
        self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, text: str | None = None
    ) -> str:
        if text is None:
            return _header_for(self, schema, document, operation_name)
        key = (text, operation_name)
        header = self._known.get(key)
        if header is None:
            if len(self._known) >= KNOWN_DOCUMENTS:
                self._known.clear()
            header = self._known[key] = _header_for(self, schema, document, operation_name)
        return header


def render(hint: Hint | None) -> str:
    if hint is None or hint.max_age <= 0:
        return NO_STORE
    return f"{'private' if hint.private else 'public'}, max-age={hint.max_age}"


class _Collector(Visitor):
    def __init__(self, policy: CachePolicy, type_info: TypeInfo, root: GraphQLObjectType | None) -> None:
        super().__init__()
        self.policy = policy
        self.type_info = type_info
        self.root = root
        self.hints: list[Hint] = []
        self.unhinted = False
        self._in_entities = 0

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        name = node.name.value
        parent = self.type_info.get_parent_type()
        if name == "_entities":
            self._in_entities += 1
            return
        if name == "__typename":
            return
        coordinate_hint = self.policy.fields.get(f"{parent.name}.{name}") if parent is not None else None
        returned = self.type_info.get_type()
        named: GraphQLNamedType | None = get_named_type(returned) if returned is not None else None
        type_hint = self.policy.types.get(named.name) if named is not None else None
        hint = coordinate_hint or type_hint
        if hint is not None:
            self.hints.append(hint)
        elif parent is self.root:
            self.unhinted = True  # a root field without a hint: not cacheable

    def leave_field(self, node: FieldNode, *_: Any) -> None:
        if node.name.value == "_entities":
            self._in_entities -= 1

    def enter_inline_fragment(self, node: InlineFragmentNode, *_: Any) -> None:
        if self._in_entities and node.type_condition is not None:
            hint = self.policy.types.get(node.type_condition.name.value)
            if hint is None:
                self.unhinted = True  # an entity type without a hint
            else:
                self.hints.append(hint)


def _header_for(policy: CachePolicy, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None) -> str:
    operation = next(
        (d for d in document.definitions if isinstance(d, OperationDefinitionNode)
         and (operation_name is None or (d.name is not None and d.name.value == operation_name))),
        None,
    )
    if operation is None or operation.operation.value != "query":
        return NO_STORE
    type_info = TypeInfo(schema)
    collector = _Collector(policy, type_info, schema.query_type)
    visit(operation, TypeInfoVisitor(type_info, collector))
    if collector.unhinted or not collector.hints:
        return NO_STORE
    if any(hint.max_age <= 0 for hint in collector.hints):
        return NO_STORE
    return render(Hint(min(h.max_age for h in collector.hints), any(h.private for h in collector.hints)))


def cache_hints(policy: CachePolicy) -> type[SchemaExtension]:
    """The schema extension answering with `policy`'s Cache-Control and the resolvers' invalidations."""

    class CacheHints(SchemaExtension):
        def on_execute(self) -> Iterator[None]:
            yield
            ctx = self.execution_context
            response = getattr(ctx.context, "response", None)
            headers = getattr(response, "headers", None)
            if headers is None or ctx.graphql_document is None:
                return
            result = ctx.result
            if result is not None and result.errors:
                headers["cache-control"] = NO_STORE
            else:
                headers["cache-control"] = policy.header(
                    ctx.schema._schema, ctx.graphql_document, ctx.operation_name, ctx.query
                )

        def get_results(self) -> dict[str, Any]:
            invalidations = getattr(self.execution_context.context, "invalidations", None)
            return {"invalidation": list(invalidations)} if invalidations else {}

    return CacheHints
