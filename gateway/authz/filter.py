"""Remove the fields an identity may not see from a normalised operation, before planning.

The rules of Apollo Router's authorization directives: a field is removed when its own requirement
or its return type's fails; an inline fragment (or spread) on a type whose requirement fails is
removed; a field whose selection set ends up empty is removed with it (no error of its own). On
abstract positions the gateway cannot know the runtime type before fetching, so a field selected
directly on an interface needs the requirement of that field on every implementation, and a
field returning an interface or union, selected with fields outside type conditions, needs the
requirement of every possible type. Each removed field (or fragment) is reported once, at its
response path, with `@` for each list level (the query-plan path notation).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from graphql import (
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    is_abstract_type,
)

from ..planning.operation import CField, CFrag, CSel
from .model import AuthorizationModel, Requirement

Path = tuple[str, ...]
Denied = Callable[[Requirement], bool]


class SelectionFilter:
    """One pass over one operation's selections; `denied` says which requirements fail."""

    def __init__(self, schema: GraphQLSchema, model: AuthorizationModel, denied: Denied) -> None:
        self.schema = schema
        self.model = model
        self.denied = denied
        self.removed: list[Path] = []

    def run(self, root_type: str, selections: Sequence[CSel]) -> tuple[CSel, ...]:
        root = self.schema.get_type(root_type)
        assert root is not None
        return self._selections(root, selections, ())

    def _selections(self, parent: GraphQLNamedType, selections: Sequence[CSel], path: Path) -> tuple[CSel, ...]:
        out: list[CSel] = []
        for sel in selections:
            kept = self._fragment(parent, sel, path) if isinstance(sel, CFrag) else self._field(parent, sel, path)
            if kept is not None:
                out.append(kept)
        return tuple(out)

    def _fragment(self, parent: GraphQLNamedType, sel: CFrag, path: Path) -> CFrag | None:
        condition = sel.type_condition
        target = self.schema.get_type(condition) if condition else parent
        if target is None:
            return sel
        if target is not parent and self._type_denied(target.name):
            self.removed.append(path)
            return None
        subs = self._selections(target, sel.selections, path)
        if not subs:
            return None
        return sel if subs == sel.selections else replace(sel, selections=subs)

    def _field(self, parent: GraphQLNamedType, sel: CField, path: Path) -> CField | None:
        if sel.name.startswith("__") or not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return sel
        definition = parent.fields.get(sel.name)
        if definition is None:
            return sel
        named, lists = _unwrap(definition.type)
        here = (*path, sel.response_key)
        if self._field_denied(parent, sel, named):
            self.removed.append(here)
            return None
        if sel.selections is None:
            return sel
        subs = self._selections(named, sel.selections, here + ("@",) * lists)
        if not subs:
            return None
        return sel if subs == sel.selections else replace(sel, selections=subs)

    def _field_denied(self, parent: GraphQLNamedType, sel: CField, named: GraphQLNamedType) -> bool:
        model = self.model
        requirements = [model.field_requirement(parent.name, sel.name), model.type_requirement(named.name)]
        if isinstance(parent, GraphQLInterfaceType):
            requirements.extend(
                model.field_requirement(obj.name, sel.name) for obj in self.schema.get_possible_types(parent)
            )
        if is_abstract_type(named) and sel.selections and _selects_directly(named.name, sel.selections):
            requirements.extend(model.type_requirement(obj.name) for obj in self.schema.get_possible_types(named))
        return any(self.denied(r) for r in requirements if r is not None)

    def _type_denied(self, name: str) -> bool:
        requirement = self.model.type_requirement(name)
        return requirement is not None and self.denied(requirement)


def _selects_directly(type_name: str, selections: Sequence[CSel]) -> bool:
    """Fields other than `__typename` selected on the abstract type itself (not in a type condition)."""
    for sel in selections:
        if isinstance(sel, CField):
            if sel.name != "__typename":
                return True
        elif sel.type_condition in (None, type_name) and _selects_directly(type_name, sel.selections):
            return True
    return False


def _unwrap(type_: object) -> tuple[GraphQLNamedType, int]:
    lists = 0
    while isinstance(type_, GraphQLNonNull | GraphQLList):
        if isinstance(type_, GraphQLList):
            lists += 1
        type_ = type_.of_type
    assert isinstance(type_, GraphQLNamedType)
    return type_, lists
