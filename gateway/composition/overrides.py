"""`@override`: which subgraph a field is taken from, as @apollo/composition's validateOverride decides."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from .merge_values import Issues
from .model import Field, Kind, Subgraph, TypeDef
from .usage import Usage


@dataclass
class FieldSource:
    """One subgraph's definition of the field being merged."""

    sub: Subgraph
    tdef: TypeDef
    fdef: Field


@dataclass
class Overrides:
    unused: set[str] = field(default_factory=set)  # subgraphs whose field is overridden and unused
    used: set[str] = field(default_factory=set)  # overridden but still used by a key/requires/provides
    progressive: set[str] = field(default_factory=set)  # both ends of a labelled (progressive) @override
    labels: dict[str, str] = field(default_factory=dict)  # both ends -> their valid progressive label

    @property
    def overridden(self) -> set[str]:
        return self.unused | self.used


def compute_overrides(
    issues: Issues, usage: Mapping[str, Usage], coordinate: str, sources: Sequence[FieldSource]
) -> Overrides:
    """Which subgraphs an @override takes the field from (used or not by them), with progressive labels."""
    result = Overrides()
    by_subgraph = {s.sub.name: s for s in sources}
    for s in sources:
        origin = s.fdef.override_from
        if origin is None or not _valid_override(issues, coordinate, s):
            continue
        target = by_subgraph.get(origin)
        if target is None:
            continue  # Apollo only hints here (unknown subgraph, or the field is gone from it)
        if target.fdef.override_from is not None:
            issues.add(
                "OVERRIDE_SOURCE_HAS_OVERRIDE",
                f'Field "{coordinate}" on subgraph "{s.sub.name}" is also marked with directive @override in '
                f'subgraph "{origin}". Only one @override directive is allowed per field.',
                [s.sub.name, origin],
                coordinate,
            )
            continue
        conflict = "@requires" if target.fdef.requires else "@provides" if target.fdef.provides else None
        if conflict or s.fdef.external:
            where = origin if conflict else s.sub.name
            issues.add(
                "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
                f'@override cannot be used on field "{coordinate}" on subgraph "{s.sub.name}" since "{coordinate}" '
                f'on "{where}" is marked with directive "{conflict or "@external"}"',
                [s.sub.name, origin],
                coordinate,
            )
            continue
        # A source whose field is @external does not resolve it: nothing is overridden (Apollo hints).
        if not target.fdef.external:
            type_name, field_name = coordinate.split(".", 1)
            used = (type_name, field_name) in usage[origin].used
            (result.used if used else result.unused).add(origin)
        label = s.fdef.override_label
        if label is None:
            continue
        if not _LABEL.match(label) and not _valid_percent(label):
            issues.add(
                "OVERRIDE_LABEL_INVALID",
                f'Invalid @override label "{label}" on field "{coordinate}" on subgraph "{s.sub.name}": labels must '
                "start with a letter and after that may contain alphanumerics, underscores, minuses, colons, "
                'periods, or slashes. Alternatively, labels may be of the form "percent(x)" where x is a float '
                "between 0-100 inclusive.",
                [s.sub.name],
                coordinate,
            )
            continue
        result.progressive.update((s.sub.name, origin))  # both keep resolving it
        result.labels[origin] = result.labels[s.sub.name] = label
    return result


def _valid_override(issues: Issues, coordinate: str, s: FieldSource) -> bool:
    """The checks Apollo's validateOverride makes before looking at the source subgraph."""
    name = s.sub.name
    if s.tdef.kind == Kind.INTERFACE:
        message = f'@override cannot be used on field "{coordinate}" on subgraph "{name}": @override is not ' + (
            "supported on interface type fields."
        )
        issues.add("OVERRIDE_ON_INTERFACE", message, [name], coordinate)
        return False
    if s.tdef.interface_object:
        issues.add(
            "OVERRIDE_COLLISION_WITH_ANOTHER_DIRECTIVE",
            "@override is not yet supported on fields of @interfaceObject types: cannot be used on field "
            f'"{coordinate}" on subgraph "{name}".',
            [name],
            coordinate,
        )
        return False
    if s.fdef.override_from == name:
        issues.add(
            "OVERRIDE_FROM_SELF_ERROR",
            f'Source and destination subgraphs "{name}" are the same for overridden field "{coordinate}"',
            [name],
            coordinate,
        )
        return False
    return True


_LABEL = re.compile(r"^[a-zA-Z][a-zA-Z0-9_\-:./]*$")
_PERCENT = re.compile(r"^percent\((\d{1,2}(\.\d{1,8})?|100)\)$")


def _valid_percent(label: str) -> bool:
    match = _PERCENT.match(label)
    return match is not None and 0 <= float(match.group(1)) <= 100
