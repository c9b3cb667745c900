"""What Apollo's Federation 1 schema upgrader changes in a subgraph before composing it, beyond what
the parser already does: `@provides` / `@requires` selecting fields that are not `@external` are
"inactive" there, so those fields are dropped from the selection (and the directive when nothing is
left), as `removeInactiveProvidesAndRequires` does."""

from __future__ import annotations

from .fieldset import Selection, parse_field_set
from .model import Kind, Subgraph


def fix_inactive_provides_and_requires(sub: Subgraph) -> None:
    for tdef in sub.types.values():
        for fdef in tdef.fields.values():
            if fdef.provides is not None:
                fdef.provides = _active(sub, fdef.type.base, fdef.provides)
            if fdef.requires is not None:
                fdef.requires = _active(sub, tdef.name, fdef.requires)


def _active(sub: Subgraph, type_name: str, fields: str) -> str | None:
    selections = parse_field_set(fields)
    if not selections or not _selects_non_external_leaf(sub, type_name, selections):
        return fields  # invalid ones are reported by validation; fully external ones are kept as written
    kept = _without_non_external_leaves(sub, type_name, selections)
    return _print(kept) or None


def _external(sub: Subgraph, type_name: str, field_name: str) -> bool:
    """@external here, or on an implementation when `type_name` is an interface."""
    fdef = sub.field(type_name, field_name)
    if fdef is not None and fdef.external:
        return True
    tdef = sub.type(type_name)
    if tdef is None or tdef.kind != Kind.INTERFACE:
        return False
    return any((f := t.fields.get(field_name)) is not None and f.external for t in sub.possible_types(type_name))


def _child_type(sub: Subgraph, type_name: str, sel: Selection) -> str:
    if sel.type_condition is not None:
        return sel.type_condition or type_name
    fdef = sub.field(type_name, sel.name)
    return fdef.type.base if fdef is not None else type_name


def _selects_non_external_leaf(sub: Subgraph, type_name: str, selections: tuple[Selection, ...]) -> bool:
    for sel in selections:
        if sel.type_condition is None:
            if sel.name == "__typename" or _external(sub, type_name, sel.name):
                continue
            if not sel.children:
                return True
        if _selects_non_external_leaf(sub, _child_type(sub, type_name, sel), sel.children):
            return True
    return False


def _without_non_external_leaves(sub: Subgraph, type_name: str, selections: tuple[Selection, ...]) -> list[Selection]:
    kept: list[Selection] = []
    for sel in selections:
        if sel.type_condition is None and _external(sub, type_name, sel.name):
            kept.append(sel)
            continue
        if sel.children:
            children = _without_non_external_leaves(sub, _child_type(sub, type_name, sel), sel.children)
            if children:
                kept.append(Selection(sel.name, tuple(children), sel.args, sel.type_condition))
    return kept


def _print(selections: list[Selection] | tuple[Selection, ...]) -> str:
    parts: list[str] = []
    for sel in selections:
        head = f"... on {sel.type_condition}" if sel.type_condition else "..." if sel.type_condition == "" else sel.name
        parts.append(f"{head} {{ {_print(sel.children)} }}" if sel.children else head)
    return " ".join(parts)
