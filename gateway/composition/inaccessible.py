"""The `@inaccessible` rules of the merged supergraph: removing the hidden elements must leave a valid
API schema (the checks of Apollo's inaccessible spec, with its error codes)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql.language import EnumValueNode, ListValueNode, ObjectValueNode, ValueNode

from .errors import CompositionIssue
from .model import Kind
from .supergraph_model import SInputValue, SType, Supergraph
from .typeref import TypeRef

_WITH_FIELDS = (Kind.OBJECT, Kind.INTERFACE)


def check_inaccessible(supergraph: Supergraph) -> list[CompositionIssue]:
    types = supergraph.types
    hidden = {name for name, t in types.items() if t.deco.inaccessible}
    issues: list[CompositionIssue] = []

    def add(code: str, message: str, coordinate: str) -> None:
        issues.append(CompositionIssue(code, message, [], coordinate))

    for coordinate, type_name in _references(supergraph):
        if type_name in hidden:
            add(
                "REFERENCED_INACCESSIBLE",
                f'Type "{type_name}" is @inaccessible but is referenced by "{coordinate}", which is in the API schema.',
                type_name,
            )
    query = supergraph.roots.get("query")
    if query in hidden:
        add(
            "QUERY_ROOT_TYPE_INACCESSIBLE",
            f'Type "{query}" is @inaccessible but is the root query type, which must be in the API schema.',
            query,
        )
    for stype in types.values():
        if stype.name in hidden:
            continue
        children = _children(stype)
        if children is not None and children[1] and all(children[1]):
            add(
                "ONLY_INACCESSIBLE_CHILDREN",
                f'Type "{stype.name}" is in the API schema but all of its {children[0]} are @inaccessible.',
                stype.name,
            )
        issues.extend(_implemented_by_inaccessible(supergraph, stype))
        issues.extend(_required_inaccessible(stype))
        for coordinate, value in _accessible_input_values(stype):
            if value.default is not None:
                issues.extend(_default_uses_inaccessible(supergraph, coordinate, value.type.base, value.default))
    return issues


def _accessible_input_values(stype: SType) -> Iterator[tuple[str, SInputValue]]:
    for f in stype.fields.values():
        if not f.deco.inaccessible:
            yield from ((f"{stype.name}.{f.name}({a.name}:)", a) for a in f.args.values() if not a.deco.inaccessible)
    yield from ((f"{stype.name}.{v.name}", v) for v in stype.input_fields.values() if not v.deco.inaccessible)


def _default_uses_inaccessible(
    supergraph: Supergraph, coordinate: str, type_name: str, value: ValueNode
) -> Iterator[CompositionIssue]:
    """A default value naming an @inaccessible enum value or input field (DEFAULT_VALUE_USES_INACCESSIBLE)."""
    target = supergraph.types.get(type_name)
    if target is None:
        return
    if isinstance(value, ListValueNode):
        for item in value.values:
            yield from _default_uses_inaccessible(supergraph, coordinate, type_name, item)
    elif isinstance(value, EnumValueNode) and target.kind == Kind.ENUM:
        enum_value = target.values.get(value.value)
        if enum_value is not None and enum_value.deco.inaccessible:
            yield _default_issue(f'Enum value "{type_name}.{value.value}"', coordinate)
    elif isinstance(value, ObjectValueNode) and target.kind == Kind.INPUT_OBJECT:
        for object_field in value.fields:
            input_field = target.input_fields.get(object_field.name.value)
            if input_field is None:
                continue
            if input_field.deco.inaccessible:
                yield _default_issue(f'Input field "{type_name}.{input_field.name}"', coordinate)
            yield from _default_uses_inaccessible(supergraph, coordinate, input_field.type.base, object_field.value)


def _default_issue(what: str, coordinate: str) -> CompositionIssue:
    return CompositionIssue(
        "DEFAULT_VALUE_USES_INACCESSIBLE",
        f'{what} is @inaccessible but is used in the default value of "{coordinate}", which is in the API schema.',
        [],
        coordinate,
    )


def _children(stype: SType) -> tuple[str, list[bool]] | None:
    """What the type's children are called, and whether each is hidden."""
    if stype.kind in _WITH_FIELDS:
        return "fields", [f.deco.inaccessible for f in stype.fields.values()]
    if stype.kind == Kind.INPUT_OBJECT:
        return "input fields", [f.deco.inaccessible for f in stype.input_fields.values()]
    if stype.kind == Kind.ENUM:
        return "values", [v.deco.inaccessible for v in stype.values.values()]
    return None


def _references(supergraph: Supergraph) -> Iterator[tuple[str, str]]:
    """(coordinate, referenced type) of every field, argument and input field in the API schema."""
    for stype in supergraph.types.values():
        if stype.deco.inaccessible:
            continue
        for f in stype.fields.values():
            if f.deco.inaccessible:
                continue
            yield f"{stype.name}.{f.name}", f.type.base
            for arg in f.args.values():
                if not arg.deco.inaccessible:
                    yield f"{stype.name}.{f.name}({arg.name}:)", arg.type.base
        for iv in stype.input_fields.values():
            if not iv.deco.inaccessible:
                yield f"{stype.name}.{iv.name}", iv.type.base
    definitions = [
        *supergraph.executable_directives,
        *(d.definition for f in supergraph.composed_features for d in f.directives),
    ]
    for definition in definitions:
        for node in definition.arguments or ():
            yield f"@{definition.name.value}({node.name.value}:)", TypeRef.from_ast(node.type).base


def _implemented_by_inaccessible(supergraph: Supergraph, stype: SType) -> Iterator[CompositionIssue]:
    if stype.kind not in _WITH_FIELDS:
        return
    for f in stype.fields.values():
        if not f.deco.inaccessible:
            continue
        for iface_name in stype.interfaces:
            iface = supergraph.types.get(iface_name)
            implemented = iface.fields.get(f.name) if iface else None
            if iface is None or implemented is None or iface.deco.inaccessible or implemented.deco.inaccessible:
                continue
            yield CompositionIssue(
                "IMPLEMENTED_BY_INACCESSIBLE",
                f'Field "{stype.name}.{f.name}" is @inaccessible but implements the interface field '
                f'"{iface_name}.{f.name}", which is in the API schema.',
                [],
                f"{stype.name}.{f.name}",
            )


def _required(value: SInputValue) -> bool:
    return value.type.non_null and value.default is None


def _required_inaccessible(stype: SType) -> Iterator[CompositionIssue]:
    for f in stype.fields.values():
        if f.deco.inaccessible:
            continue
        for arg in f.args.values():
            if arg.deco.inaccessible and _required(arg):
                coordinate = f"{stype.name}.{f.name}({arg.name}:)"
                yield CompositionIssue(
                    "REQUIRED_INACCESSIBLE",
                    f'Argument "{coordinate}" is @inaccessible but is a required argument of its field.',
                    [],
                    coordinate,
                )
    for iv in stype.input_fields.values():
        if iv.deco.inaccessible and _required(iv):
            coordinate = f"{stype.name}.{iv.name}"
            yield CompositionIssue(
                "REQUIRED_INACCESSIBLE",
                f'Input field "{coordinate}" is @inaccessible but is a required input field of its type.',
                [],
                coordinate,
            )
