"""Merging of object and interface fields: types, sharing, @override and their @join__field."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from .errors import quote_subgraphs
from .merge_values import Issues, describe_types, merge_decorations, merge_input_values, pick_description
from .model import Field, Kind, Subgraph, TypeDef
from .overrides import FieldSource as _Source
from .overrides import Overrides as _Overrides
from .overrides import compute_overrides
from .supergraph_model import JoinField, SField, SType
from .typeref import TypeRef, merge_output, same_shape
from .usage import Usage


@dataclass
class FieldContext:
    issues: Issues
    graph_of: Mapping[str, str]
    usage: Mapping[str, Usage]
    supertypes: Mapping[str, set[str]]  # type -> interfaces it implements / unions it belongs to
    subgraphs: Sequence[Subgraph] = ()


def merge_composite_fields(ctx: FieldContext, stype: SType, sources: Sequence[tuple[Subgraph, TypeDef]]) -> None:
    names: list[str] = []
    for _, tdef in sources:
        names.extend(n for n in tdef.fields if n not in names)
    for name in names:
        fsources = [_Source(sub, tdef, tdef.fields[name]) for sub, tdef in sources if name in tdef.fields]
        merged = _merge_field(ctx, stype, fsources)
        if merged is not None:
            stype.fields[name] = merged


def _merge_field(ctx: FieldContext, stype: SType, sources: list[_Source]) -> SField | None:
    name = sources[0].fdef.name
    coordinate = f"{stype.name}.{name}"
    overrides = compute_overrides(ctx.issues, ctx.usage, coordinate, sources)
    defining = [s for s in sources if not s.fdef.external]
    if not defining:
        ctx.issues.add(
            "EXTERNAL_MISSING_ON_BASE",
            f'Field "{coordinate}" is marked @external on all the subgraphs in which it is listed '
            f"({quote_subgraphs(s.sub.name for s in sources)}).",
            [s.sub.name for s in sources],
            coordinate,
        )
        return None
    merged_type, types_equal = _merge_output_type(ctx, coordinate, defining)
    if merged_type is None:
        return None
    _check_external_types(ctx, coordinate, sources, merged_type)
    if stype.kind == Kind.OBJECT:
        _check_sharing(ctx, coordinate, sources, overrides)
    args = merge_input_values(
        ctx.issues,
        coordinate,
        "argument",
        [(s.sub.name, s.fdef.args) for s in defining],
        arguments=True,
    )
    sfield = SField(
        name,
        merged_type,
        {n: value for n, (value, _) in args.items()},
        pick_description([s.fdef.description for s in sources]),
        merge_decorations([s.fdef.deco for s in sources]),
    )
    if _needs_join_field(stype, sources, types_equal, overrides):
        sfield.joins = [join for s in sources if (join := _join_field(ctx, s, types_equal, overrides)) is not None]
    return sfield


def _merge_output_type(ctx: FieldContext, coordinate: str, sources: list[_Source]) -> tuple[TypeRef | None, bool]:
    """The most general of the subgraphs' types (nullable wins, interfaces/unions over their members)."""
    refs = [(s.sub.name, s.fdef.type) for s in sources]
    first = refs[0][1]
    if all(ref == first for _, ref in refs):
        return first, True
    bases = list(dict.fromkeys(ref.base for _, ref in refs))
    supertype = next(
        (c for c in bases if all(b == c or c in ctx.supertypes.get(b, set()) for b in bases)),
        None,
    )
    if supertype is None or any(not same_shape(ref, first) for _, ref in refs):
        ctx.issues.add(
            "FIELD_TYPE_MISMATCH",
            f'Type of field "{coordinate}" is incompatible across subgraphs: it has {describe_types(refs)}',
            [s for s, _ in refs],
            coordinate,
        )
        return None, False
    merged = first
    for _, ref in refs[1:]:
        merged = merge_output(merged, ref, supertype)
    return merged.with_base(supertype), False


def _check_external_types(ctx: FieldContext, coordinate: str, sources: list[_Source], merged: TypeRef) -> None:
    bad = [
        s
        for s in sources
        if s.fdef.external and (s.fdef.type.base != merged.base or not same_shape(s.fdef.type, merged))
    ]
    if bad:
        refs = [(s.sub.name, s.fdef.type) for s in sources]
        ctx.issues.add(
            "EXTERNAL_TYPE_MISMATCH",
            f'Type of field "{coordinate}" is incompatible across subgraphs (where marked @external): it has '
            f"{describe_types(refs)}",
            [s for s, _ in refs],
            coordinate,
        )


def _check_sharing(ctx: FieldContext, coordinate: str, sources: list[_Source], overrides: _Overrides) -> None:
    type_name, field_name = coordinate.split(".", 1)
    resolving: list[str] = []
    non_shareable: list[str] = []
    for s in sources:
        if s.sub.name in overrides.overridden:
            continue
        usage = ctx.usage[s.sub.name]
        if s.fdef.external:
            if (type_name, field_name) in usage.provided:
                resolving.append(s.sub.name)  # resolved through @provides
            continue
        resolving.append(s.sub.name)
        if not s.fdef.shareable and (type_name, field_name) not in usage.key_fields:
            non_shareable.append(s.sub.name)
    for sub, iface, f in _abstracted_by_interface_objects(ctx, type_name, field_name, sources):
        if f.external:
            continue
        resolving.append(sub.name)  # it resolves the field for every implementation of the interface
        if not f.shareable and (iface, field_name) not in ctx.usage[sub.name].key_fields:
            non_shareable.append(sub.name)
    if non_shareable and len(resolving) > 1:
        ctx.issues.add(
            "INVALID_FIELD_SHARING",
            f"{coordinate} is defined in {quote_subgraphs(resolving)} but not marked @shareable in "
            f"{quote_subgraphs(non_shareable)} (a field resolved by several subgraphs must be @shareable in all "
            "of them)",
            resolving,
            coordinate,
        )


def _abstracted_by_interface_objects(
    ctx: FieldContext, type_name: str, field_name: str, sources: list[_Source]
) -> Iterator[tuple[Subgraph, str, Field]]:
    """(subgraph, interface, field) of the @interfaceObject fields standing for `type_name.field_name` in
    subgraphs that do not define the type (Apollo's fieldsInSourceIfAbstractedByInterfaceObject)."""
    defining = {s.sub.name for s in sources}
    for sub in ctx.subgraphs:
        if sub.name in defining or sub.type(type_name) is not None:
            continue
        for iface in sorted(ctx.supertypes.get(type_name, ())):
            tdef = sub.type(iface)
            if tdef is not None and tdef.interface_object and field_name in tdef.fields:
                yield sub, iface, tdef.fields[field_name]


def _needs_join_field(stype: SType, sources: list[_Source], types_equal: bool, overrides: _Overrides) -> bool:
    """Apollo's `needsJoinField`: an @override alone needs none (one naming an unknown subgraph, in a type
    only the overriding subgraph defines, leaves no trace in the supergraph)."""
    if not types_equal or overrides.overridden or overrides.progressive:
        return True
    for s in sources:
        f = s.fdef
        if f.external or f.requires or f.provides or f.context_arguments:
            return True
    return len(sources) < len(stype.graphs)  # some subgraph defining the type lacks the field


def _join_field(ctx: FieldContext, s: _Source, types_equal: bool, overrides: _Overrides) -> JoinField | None:
    if s.sub.name in overrides.unused and s.sub.name not in overrides.labels:
        return None
    f = s.fdef
    return JoinField(
        graph=ctx.graph_of[s.sub.name],
        requires=f.requires,
        provides=f.provides,
        type=None if types_equal else str(f.type),
        external=f.external,
        override=f.override_from,
        override_label=overrides.labels.get(s.sub.name),
        used_overridden=s.sub.name in overrides.used,
        context_arguments=list(f.context_arguments),
    )
