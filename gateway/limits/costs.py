"""The demand-control directives of a supergraph: `@cost(weight:)` and `@listSize(...)`.

Read from the supergraph SDL as Apollo's demand-control spec (https://specs.apollo.dev/cost/v0.1)
places them: on fields, arguments, input fields and types (objects, interfaces, unions, scalars,
enums: `@cost`) and on list-returning fields (`@listSize`).
A prefixed name (`@cost__cost`, `@federation__listSize`) is accepted too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from graphql import (
    BooleanValueNode,
    DirectiveNode,
    DocumentNode,
    GraphQLError,
    InputObjectTypeDefinitionNode,
    InterfaceTypeDefinitionNode,
    InterfaceTypeExtensionNode,
    IntValueNode,
    ListValueNode,
    ObjectTypeDefinitionNode,
    ObjectTypeExtensionNode,
    SelectionSetNode,
    StringValueNode,
    TypeDefinitionNode,
    ValueNode,
    parse,
)


@dataclass(frozen=True, slots=True)
class ListSize:
    assumed_size: int | None = None
    slicing_arguments: tuple[str, ...] = ()
    sized_fields: tuple[str, ...] = ()
    require_one_slicing_argument: bool = True


@dataclass(slots=True)
class CostModel:
    """Weights by schema coordinate: `Type` (types), `Type.field`, `Type.field(arg:)`."""

    type_weights: dict[str, int] = field(default_factory=dict)
    field_weights: dict[str, int] = field(default_factory=dict)
    argument_weights: dict[str, int] = field(default_factory=dict)
    input_field_weights: dict[str, int] = field(default_factory=dict)  # `Input.field`
    list_sizes: dict[str, ListSize] = field(default_factory=dict)
    # `@join__field(requires:)` field sets by `Type.field`: their cost is part of the field's estimate
    requires: dict[str, SelectionSetNode] = field(default_factory=dict)

    @classmethod
    def from_sdl(cls, sdl: str) -> CostModel:
        return cls.from_document(parse(sdl, no_location=True))

    @classmethod
    def from_document(cls, document: DocumentNode) -> CostModel:
        model = cls()
        for definition in document.definitions:
            if not isinstance(definition, TypeDefinitionNode | ObjectTypeExtensionNode | InterfaceTypeExtensionNode):
                continue
            type_name = definition.name.value
            weight = _weight(definition.directives)
            if weight is not None:
                model.type_weights[type_name] = weight
            if isinstance(definition, InputObjectTypeDefinitionNode):
                for input_field in definition.fields or ():
                    weight = _weight(input_field.directives)
                    if weight is not None:
                        model.input_field_weights[f"{type_name}.{input_field.name.value}"] = weight
                continue
            if not isinstance(
                definition,
                ObjectTypeDefinitionNode
                | InterfaceTypeDefinitionNode
                | ObjectTypeExtensionNode
                | InterfaceTypeExtensionNode,
            ):
                continue
            for field_node in definition.fields or ():
                coordinate = f"{type_name}.{field_node.name.value}"
                weight = _weight(field_node.directives)
                if weight is not None:
                    model.field_weights[coordinate] = weight
                size = _list_size(field_node.directives)
                if size is not None:
                    model.list_sizes[coordinate] = size
                required = _requires(field_node.directives)
                if required is not None:
                    model.requires[coordinate] = required
                for arg in field_node.arguments or ():
                    weight = _weight(arg.directives)
                    if weight is not None:
                        model.argument_weights[f"{coordinate}({arg.name.value}:)"] = weight
        return model

    @property
    def empty(self) -> bool:
        return not (
            self.type_weights
            or self.field_weights
            or self.argument_weights
            or self.input_field_weights
            or self.list_sizes
        )


def _named(directives: tuple[DirectiveNode, ...] | None, name: str) -> DirectiveNode | None:
    for directive in directives or ():
        value = directive.name.value
        if value == name or value.endswith("__" + name):
            return directive
    return None


def _args(directive: DirectiveNode) -> dict[str, ValueNode]:
    return {arg.name.value: arg.value for arg in directive.arguments or ()}


def _int(value: ValueNode | None) -> int | None:
    if isinstance(value, IntValueNode):
        return int(value.value)
    if isinstance(value, StringValueNode) and value.value.strip().lstrip("-").isdigit():
        return int(value.value)  # the spec's `weight: Int!`; some composers print it as a string
    return None


def _strings(value: ValueNode | None) -> tuple[str, ...]:
    if isinstance(value, ListValueNode):
        return tuple(v.value for v in value.values if isinstance(v, StringValueNode))
    if isinstance(value, StringValueNode):
        return (value.value,)
    return ()


def _weight(directives: tuple[DirectiveNode, ...] | None) -> int | None:
    directive = _named(directives, "cost")
    return _int(_args(directive).get("weight")) if directive else None


def _requires(directives: tuple[DirectiveNode, ...] | None) -> SelectionSetNode | None:
    """The `@join__field(requires:)` field set of a supergraph field, parsed (None: none or unparsable)."""
    for directive in directives or ():
        if directive.name.value != "join__field" and not directive.name.value.endswith("__field"):
            continue
        fields = _args(directive).get("requires")
        if isinstance(fields, StringValueNode) and fields.value.strip():
            try:
                operation = parse("{" + fields.value + "}", no_location=True).definitions[0]
            except GraphQLError:
                return None
            return operation.selection_set  # type: ignore[attr-defined]
    return None


def _list_size(directives: tuple[DirectiveNode, ...] | None) -> ListSize | None:
    directive = _named(directives, "listSize")
    if directive is None:
        return None
    args = _args(directive)
    require = args.get("requireOneSlicingArgument")
    return ListSize(
        assumed_size=_int(args.get("assumedSize")),
        slicing_arguments=_strings(args.get("slicingArguments")),
        sized_fields=_strings(args.get("sizedFields")),
        require_one_slicing_argument=require.value if isinstance(require, BooleanValueNode) else True,
    )
