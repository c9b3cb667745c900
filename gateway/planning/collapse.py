"""Keep the type condition of an abstract position where type explosion gains nothing.

The planner plans an abstract position per runtime type (`media { __typename ... on Book { id }
... on Movie { id } }`). When the subgraph has the same possible types as the supergraph and every
runtime type got the same selection of fields the abstract type itself declares there (with the same
types), the fragments are folded back into the abstract type (`media { __typename id }`), as the
reference gateway sends it. The response is the same: only the subgraph document changes.
"""

from __future__ import annotations

from ..supergraph.model import TypeKind
from .schema_view import SchemaView
from .selection import FNode, SelSet


def collapse_exploded(target: SelSet, type_name: str, graph: str, view: SchemaView) -> bool:
    """Fold the per-type fragments of `target` (a selection at an abstract `type_name` position in
    `graph`) into `target` itself when that changes nothing; whether it did."""
    typedef = view.sg.types.get(type_name)
    if typedef is None or typedef.kind not in (TypeKind.INTERFACE, TypeKind.UNION):
        return False
    if typedef.is_interface_object_in(graph) or not view.in_graph(type_name, graph):
        return False
    members = view.possible_in(graph, type_name)
    if not members or set(members) != set(view.sg.possible_types.get(type_name, ())):
        return False
    if set(target.frags) != {(m, "") for m in members}:
        return False
    subs = [target.frags[(m, "")] for m in members]
    printed = subs[0].print_compact()
    if any(sub.print_compact() != printed for sub in subs[1:]) or any(sub.frag_clauses for sub in subs):
        return False
    first = subs[0]
    if not _declared_alike(first, type_name, members, graph, view):
        return False
    for key, node in first.fields.items():
        existing = target.fields.get(key)
        if existing is not None and not (existing.name == node.name == "__typename" and existing.key == key):
            return False
    for key, node in first.fields.items():
        target.fields.setdefault(key, node)
    for frag_key, sub in first.frags.items():
        target.frags[frag_key] = sub
    for m in members:
        del target.frags[(m, "")]
    return True


def _declared_alike(sel: SelSet, type_name: str, members: tuple[str, ...], graph: str, view: SchemaView) -> bool:
    """Whether every field of `sel` (and of its untyped fragments) is declared by the abstract type in
    `graph` with the type each runtime type gives it there."""
    for node in sel.fields.values():
        if not _same_field(node, type_name, members, graph, view):
            return False
    for (condition, _), sub in sel.frags.items():
        if condition or not _declared_alike(sub, type_name, members, graph, view):
            return False
    return True


def _same_field(node: FNode, type_name: str, members: tuple[str, ...], graph: str, view: SchemaView) -> bool:
    if node.name == "__typename":
        return True
    if view.sg.types[type_name].kind is TypeKind.UNION:
        return False
    fdef = view.field(type_name, node.name)
    if fdef is None or (fdef.graphs and graph not in fdef.graphs):
        return False
    declared = view.type_in(type_name, node.name, graph)
    return all(view.type_in(m, node.name, graph) == declared for m in members)
