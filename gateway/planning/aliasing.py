"""Alias fields that would conflict in a subgraph document.

Two fields with one response key at one level of a selection (say `... on User { name }` and
`... on Admin { name }`) must have the same response shape in the subgraph, or it rejects the
document ("fields conflict"). They can agree in the supergraph and still differ in a subgraph
(`String!` for User, `String` for Admin there). After planning, each fetch's selection is checked
level by level against the subgraph's field types; a conflicting field is sent under a generated
alias, and the fetch carries an `Unalias` that renames it back in the subgraph's response before
it is merged. Fields with the same shape share their level below, checked the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

from .nodes import Unalias
from .schema_view import SchemaView
from .selection import FNode, SelSet

_TYPENAME_SHAPE = "String!"

# (field, its parent type in the subgraph or None when unknown, the selection set holding it)
_Entry = tuple[FNode, str | None, SelSet]


def alias_conflicts(sel: SelSet, parent_type: str | None, graph: str, view: SchemaView) -> Unalias | None:
    """Alias conflicting fields of `sel` (a fetch's selection, at `parent_type`) in place."""
    return _level([(sel, parent_type)], graph, view)


def _gather(sel: SelSet, parent: str | None, out: list[_Entry]) -> None:
    for node in sel.fields.values():
        out.append((node, parent, sel))
    for (condition, _), sub in sel.frags.items():
        _gather(sub, condition or parent, out)


def _shape(view: SchemaView, graph: str, parent: str | None, node: FNode) -> str | None:
    """The field's response shape in `graph`: list/non-null wrappers, and the named type for leaves
    (composite types of one shape may differ: their sub-selections are compared instead)."""
    if node.name == "__typename":
        return _TYPENAME_SHAPE
    if parent is None:
        return None
    type_str = view.type_in(parent, node.name, graph)
    if type_str is None:
        return None
    named = type_str.strip("[]!")
    return type_str.replace(named, "*") if view.is_composite(named) else type_str


def _level(sels: Sequence[tuple[SelSet, str | None]], graph: str, view: SchemaView) -> Unalias | None:
    entries: list[_Entry] = []
    for sel, parent in sels:
        _gather(sel, parent, entries)
    by_key: dict[str, list[_Entry]] = {}
    for entry in entries:
        by_key.setdefault(entry[0].key, []).append(entry)
    taken = set(by_key)
    out = Unalias()
    rekeyed: list[SelSet] = []
    for key, group in by_key.items():
        if len(group) < 2:
            continue
        first = _shape(view, graph, group[0][1], group[0][0])
        aliases: dict[str, str] = {}
        for node, parent, owner in group[1:]:
            shape = _shape(view, graph, parent, node)
            if shape is None or first is None or shape == first:
                continue
            alias = aliases.get(shape)
            if alias is None:
                alias = _fresh(key, taken)
                aliases[shape] = alias
                out.renames.append((alias, key))
            node.key = alias
            rekeyed.append(owner)
    for owner in rekeyed:
        owner.fields = {node.key: node for node in owner.fields.values()}
    below: dict[str, list[tuple[SelSet, str | None]]] = {}
    for node, parent, _ in entries:
        if node.sub is not None:
            named = view.named_type_in(parent, node.name, graph) if parent is not None else None
            below.setdefault(node.key, []).append((node.sub, named))
    for key, subs in below.items():
        child = _level(subs, graph, view)
        if child is not None:
            out.children[key] = child
    return out if out.renames or out.children else None


def _fresh(key: str, taken: set[str]) -> str:
    index = 0
    while f"{key}__gw_alias_{index}" in taken:
        index += 1
    alias = f"{key}__gw_alias_{index}"
    taken.add(alias)
    return alias
