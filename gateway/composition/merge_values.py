"""Merging of the small things shared by every kind of element: descriptions, decorations, input values."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from graphql import print_ast

from .errors import CompositionIssue, quote_subgraphs
from .model import Decorations, InputValue
from .supergraph_model import SInputValue
from .typeref import TypeRef, merge_input, same_shape


@dataclass
class Issues:
    items: list[CompositionIssue] = field(default_factory=list)

    def add(self, code: str, message: str, subgraphs: Sequence[str], coordinate: str | None) -> None:
        self.items.append(CompositionIssue(code, message, list(dict.fromkeys(subgraphs)), coordinate))


def pick_description(descriptions: Sequence[str | None]) -> str | None:
    """The description most subgraphs agree on (the first one on a tie)."""
    present = [d for d in descriptions if d and d.strip()]
    if not present:
        return None
    counts = Counter(present)
    best = max(counts.values())
    return next(d for d in present if counts[d] == best)


def merge_decorations(decos: Sequence[Decorations]) -> Decorations:
    merged = Decorations()
    for deco in decos:
        for tag in deco.tags:
            if tag not in merged.tags:
                merged.tags.append(tag)
        merged.inaccessible = merged.inaccessible or deco.inaccessible
        if merged.deprecated is None:
            merged.deprecated = deco.deprecated
        if merged.specified_by is None:
            merged.specified_by = deco.specified_by
        if deco.cost is not None:  # subgraphs disagreeing: the higher weight, the safer estimate
            merged.cost = deco.cost if merged.cost is None else max(merged.cost, deco.cost)
        if merged.list_size is None:
            merged.list_size = deco.list_size
        merged.authenticated = merged.authenticated or deco.authenticated
        merged.requires_scopes = dnf_conjunction(merged.requires_scopes, deco.requires_scopes)
        merged.policies = dnf_conjunction(merged.policies, deco.policies)
        merged.contexts.extend(c for c in deco.contexts if c not in merged.contexts)
        merged.custom.extend(deco.custom)
    return merged


DNF = tuple[tuple[str, ...], ...]


def dnf_conjunction(left: DNF | None, right: DNF | None) -> DNF | None:
    """Both requirements (each an OR of ANDs) as one OR of ANDs, as the reference composer merges
    @requiresScopes/@policy across subgraphs: every pair of clauses joined, subsumed clauses dropped."""
    if left is None or right is None:
        return left if right is None else right
    joined: list[frozenset[str]] = []
    for a in left or ((),):
        for b in right or ((),):
            clause = frozenset(a) | frozenset(b)
            if clause not in joined:
                joined.append(clause)
    kept = [c for c in joined if not any(other < c for other in joined)]
    return tuple(sorted(tuple(sorted(c)) for c in kept))


def describe_types(per_subgraph: Sequence[tuple[str, TypeRef]]) -> str:
    """`type "Int" in subgraph "a" but type "String" in subgraphs "b" and "c"`."""
    groups: dict[str, list[str]] = {}
    for sub, ref in per_subgraph:
        groups.setdefault(str(ref), []).append(sub)
    parts = [f'type "{t}" in {quote_subgraphs(subs)}' for t, subs in groups.items()]
    return " but ".join(parts)


def merge_input_type(
    issues: Issues, code: str, what: str, coordinate: str, per_subgraph: Sequence[tuple[str, TypeRef]]
) -> tuple[TypeRef | None, bool]:
    """Most specific of input types (non-null wins); (None, False) after reporting a mismatch."""
    first = per_subgraph[0][1]
    if all(ref == first for _, ref in per_subgraph):
        return first, True
    if any(ref.base != first.base or not same_shape(ref, first) for _, ref in per_subgraph):
        issues.add(
            code,
            f'Type of {what} "{coordinate}" is incompatible across subgraphs: it has {describe_types(per_subgraph)}',
            [s for s, _ in per_subgraph],
            coordinate,
        )
        return None, False
    merged = first
    for _, ref in per_subgraph[1:]:
        merged = merge_input(merged, ref)
    return merged, False


def _printed_default(value: InputValue) -> str | None:
    return print_ast(value.default) if value.default is not None else None


def merge_input_values(
    issues: Issues,
    owner: str,
    what: str,
    per_subgraph: Sequence[tuple[str, dict[str, InputValue]]],
    *,
    arguments: bool,
) -> dict[str, tuple[SInputValue, bool]]:
    """Merge arguments (or input-object fields) present in all subgraphs; returns value and types-equal flag.

    Values missing from some subgraph are dropped, unless required somewhere, which is an error.
    """
    names: list[str] = []
    for _, values in per_subgraph:
        names.extend(n for n in values if n not in names)
    merged: dict[str, tuple[SInputValue, bool]] = {}
    for name in names:
        coordinate = f"{owner}({name}:)" if arguments else f"{owner}.{name}"
        present = [(sub, values[name]) for sub, values in per_subgraph if name in values]
        missing = [sub for sub, values in per_subgraph if name not in values]
        if missing:
            required = [sub for sub, v in present if v.type.non_null and v.default is None]
            if required:
                kind = "Argument" if arguments else "Input object field"
                code = (
                    "REQUIRED_ARGUMENT_MISSING_IN_SOME_SUBGRAPH"
                    if arguments
                    else "REQUIRED_INPUT_FIELD_MISSING_IN_SOME_SUBGRAPH"
                )
                issues.add(
                    code,
                    f'{kind} "{coordinate}" is required in some subgraphs but does not appear in all subgraphs:'
                    f" it is required in {quote_subgraphs(required)} but does not appear in"
                    f" {quote_subgraphs(missing)}",
                    required + missing,
                    coordinate,
                )
            continue
        code = "ARGUMENT_TYPE_MISMATCH" if arguments else "FIELD_TYPE_MISMATCH"
        ref, equal = merge_input_type(issues, code, what, coordinate, [(s, v.type) for s, v in present])
        if ref is None:
            continue
        defaults = {(_printed_default(v)) for _, v in present if v.default is not None}
        if len(defaults) > 1:  # (the value is still merged: the error is about its default only)
            with_default = [(s, _printed_default(v)) for s, v in present if v.default is not None]
            issues.add(
                "FIELD_ARGUMENT_DEFAULT_MISMATCH" if arguments else "INPUT_FIELD_DEFAULT_MISMATCH",
                f'{"Argument" if arguments else "Input field"} "{coordinate}" has incompatible default values across '
                "subgraphs: it has "
                + " but ".join(f'default value {value} in subgraph "{s}"' for s, value in with_default),
                [s for s, _ in present],
                coordinate,
            )
        default = next((v.default for _, v in present if v.default is not None), None)
        merged[name] = (
            SInputValue(
                name,
                ref,
                default,
                pick_description([v.description for _, v in present]),
                merge_decorations([v.deco for _, v in present]),
            ),
            equal,
        )
    return merged
