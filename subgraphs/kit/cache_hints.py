"""Cache hints for the gateway's entity and query cache (docs/gateway.md, "Entity and query cache").

A service declares a :class:`CachePolicy`: hints by schema coordinate (`Query.products`,
`Product.inStock`) and by type (`Product`, `Cart`). The :func:`cache_hints` schema extension reads
the operation (statically, once per document) and answers with the `Cache-Control` header the gateway
follows: the lowest max-age of every hint the operation meets, `private` when any is, `no-store` when
any hint is, when a root field (or an `_entities` type) has none, for mutations, and for a response
with errors.

Tags: when every hint the operation meets has `tags` (not None), the response also carries a
`Cache-Tag` header, those tags and the ones its resolvers added (:meth:`RequestContext.tag_cache`).
The gateway then keeps its copy until one of them is invalidated (a `tag` invalidation), whatever
other entity of the service changes. A hint without tags leaves the response untagged: any
invalidation of the service voids it, which is always safe.

It also puts what the resolvers asked to invalidate (:meth:`RequestContext.invalidate`) into the
response's `extensions.invalidation`, which the gateway applies before it answers the client.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
MAX_TAGS = 256  # past it the response goes untagged (the gateway would not read more)


@dataclass(frozen=True, slots=True)
class Hint:
    """`max_age` 0 means: never cache (no-store). `tags`: what the field's data is described by, on
    top of what its resolvers tag (None: it is not described by tags)."""

    max_age: int
    private: bool = False
    tags: tuple[str, ...] | None = None


NEVER = Hint(0)


class Answer(NamedTuple):
    """What an operation's response tells the gateway: its Cache-Control, and its static tags (None:
    the response is untagged)."""

    cache_control: str
    tags: frozenset[str] | None


@dataclass(eq=False)
class CachePolicy:
    fields: Mapping[str, Hint] = field(default_factory=dict)
    types: Mapping[str, Hint] = field(default_factory=dict)
    # the answer per (document text, operation name): the gateway sends the same few texts
    _known: dict[tuple[str, str | None], Answer] = field(default_factory=dict, repr=False)

    def answer(
        self, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None, text: str | None = None
    ) -> Answer:
        if text is None:
            return _answer_for(self, schema, document, operation_name)
        key = (text, operation_name)
        answer = self._known.get(key)
        if answer is None:
            if len(self._known) >= KNOWN_DOCUMENTS:
                self._known.clear()
            answer = self._known[key] = _answer_for(self, schema, document, operation_name)
        return answer


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


def _answer_for(
    policy: CachePolicy, schema: GraphQLSchema, document: DocumentNode, operation_name: str | None
) -> Answer:
    operation = next(
        (d for d in document.definitions if isinstance(d, OperationDefinitionNode)
         and (operation_name is None or (d.name is not None and d.name.value == operation_name))),
        None,
    )
    never = Answer(NO_STORE, None)
    if operation is None or operation.operation.value != "query":
        return never
    type_info = TypeInfo(schema)
    collector = _Collector(policy, type_info, schema.query_type)
    visit(operation, TypeInfoVisitor(type_info, collector))
    hints = collector.hints
    if collector.unhinted or not hints or any(hint.max_age <= 0 for hint in hints):
        return never
    header = render(Hint(min(h.max_age for h in hints), any(h.private for h in hints)))
    if any(hint.tags is None for hint in hints):
        return Answer(header, None)
    return Answer(header, frozenset(tag for hint in hints for tag in hint.tags or ()))


def cache_hints(policy: CachePolicy) -> type[SchemaExtension]:
    """The schema extension answering with `policy`'s Cache-Control, the response's Cache-Tag and the
    resolvers' invalidations."""

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
                return
            answer = policy.answer(ctx.schema._schema, ctx.graphql_document, ctx.operation_name, ctx.query)
            headers["cache-control"] = answer.cache_control
            if answer.tags is not None and answer.cache_control != NO_STORE:
                tags = answer.tags | getattr(ctx.context, "cache_tags", set())
                if tags and len(tags) <= MAX_TAGS:
                    headers["cache-tag"] = ", ".join(sorted(tags))

        def get_results(self) -> dict[str, Any]:
            invalidations = getattr(self.execution_context.context, "invalidations", None)
            return {"invalidation": list(invalidations)} if invalidations else {}

    return CacheHints
