"""Merges normalised subgraphs into the annotated supergraph model (types, join directives, checks)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from graphql.language import DirectiveDefinitionNode

from .access_control import propagate_to_interfaces
from .entity_interfaces import check_entity_interfaces
from .errors import CompositionIssue, quote_subgraphs
from .merge_fields import FieldContext, merge_composite_fields
from .merge_values import Issues, merge_decorations, merge_input_values, pick_description
from .model import ROOT_NAMES, Kind, Subgraph, TypeDef
from .supergraph_model import Graph, JoinField, JoinType, SEnumValue, SField, SType, Supergraph
from .usage import field_usage


def _sanitized(name: str) -> str:
    """As Apollo's join spec: non-alphanumerics as `_`, `_` before a leading digit, and after a trailing
    `_<digits>` (which the suffixes below could produce), upper-cased."""
    value = re.sub(r"[^A-Za-z0-9_]", "_", name)
    if not value or value[0].isdigit():
        value = "_" + value
    if re.search(r"_\d+$", value):
        value += "_"
    return value.upper()


def graph_enum_values(names: Sequence[str]) -> list[str]:
    """`join__Graph` values: sanitized names; names that sanitize alike all get `_1`, `_2`... in order."""
    sanitized = [_sanitized(name) for name in names]
    counts = Counter(sanitized)
    seen: Counter[str] = Counter()
    values: list[str] = []
    for value in sanitized:
        if counts[value] == 1:
            values.append(value)
        else:
            seen[value] += 1
            values.append(f"{value}_{seen[value]}")
    return values


def merge(subgraphs: Sequence[Subgraph]) -> tuple[Supergraph, list[CompositionIssue]]:
    return _Merger(subgraphs).run()


class _Merger:
    def __init__(self, subgraphs: Sequence[Subgraph]) -> None:
        self.subgraphs = list(subgraphs)
        self.issues = Issues()
        enum_values = graph_enum_values([s.name for s in subgraphs])
        self.graph_of = {s.name: v for s, v in zip(subgraphs, enum_values, strict=True)}
        self.supergraph = Supergraph(
            graphs=[Graph(v, s.name, s.url) for s, v in zip(subgraphs, enum_values, strict=True)]
        )
        supertypes: dict[str, set[str]] = {}
        for sub in subgraphs:
            for tdef in sub.types.values():
                supertypes.setdefault(tdef.name, set()).update(tdef.interfaces)
                for member in tdef.members:
                    supertypes.setdefault(member, set()).add(tdef.name)
        usage = {s.name: field_usage(s) for s in subgraphs}
        self.fields = FieldContext(self.issues, self.graph_of, usage, supertypes, self.subgraphs)

    def run(self) -> tuple[Supergraph, list[CompositionIssue]]:
        names: list[str] = []
        for sub in self.subgraphs:
            names.extend(n for n in sub.types if n not in names)
        for name in names:
            sources = [(sub, sub.types[name]) for sub in self.subgraphs if name in sub.types]
            stype = self._merge_type(name, sources)
            if stype is not None:
                self.supergraph.types[name] = stype
        self._add_interface_object_fields()
        propagate_to_interfaces(self.supergraph)
        self.issues.items.extend(check_entity_interfaces(self.subgraphs, self.supergraph))
        self._check_implementations()
        self._check_fed1_extensions()
        self._roots()
        self._executable_directives()
        return self.supergraph, self.issues.items

    # -- types -------------------------------------------------------------------------------
    def _merge_type(self, name: str, sources: list[tuple[Subgraph, TypeDef]]) -> SType | None:
        kinds: dict[Kind, list[str]] = {}
        for sub, tdef in sources:
            kind = Kind.INTERFACE if tdef.interface_object else tdef.kind
            kinds.setdefault(kind, []).append(sub.name)
        if all(t.interface_object for _, t in sources):
            self.issues.add(
                "INTERFACE_OBJECT_USAGE_ERROR",
                f'Type "{name}" is declared with @interfaceObject in all the subgraphs in which it is defined (it is '
                f"defined in {quote_subgraphs(s.name for s, _ in sources)} but should be defined as an interface in "
                "at least one subgraph)",
                [s.name for s, _ in sources],
                name,
            )
            return None
        if len(kinds) > 1:
            detail = " but ".join(f"{k.value} in {quote_subgraphs(subs)}" for k, subs in kinds.items())
            self.issues.add(
                "TYPE_KIND_MISMATCH",
                f'Type "{name}" has mismatched kind: it is defined as {detail}',
                [s.name for s, _ in sources],
                name,
            )
            return None
        stype = SType(
            name,
            next(iter(kinds)),
            pick_description([t.description for _, t in sources]),
            merge_decorations([t.deco for _, t in sources]),
        )
        self._join_types(stype, sources)
        if stype.kind in (Kind.OBJECT, Kind.INTERFACE):
            self._implements(stype, sources)
            merge_composite_fields(self.fields, stype, sources)
        elif stype.kind == Kind.UNION:
            for _, tdef in sources:
                stype.members.extend(m for m in tdef.members if m not in stype.members)
            stype.union_members = [
                (self.graph_of[sub.name], member)
                for member in stype.members
                for sub, tdef in sources
                if member in tdef.members
            ]
        elif stype.kind == Kind.ENUM:
            self._merge_enum(stype, sources)
        elif stype.kind == Kind.INPUT_OBJECT:
            self._merge_input_object(stype, sources)
        return stype

    def _join_types(self, stype: SType, sources: list[tuple[Subgraph, TypeDef]]) -> None:
        by_name = {s.name: t for s, t in sources}
        # Every subgraph has a query root (it serves `_service` / `_entities`), defined or not.
        order = self.subgraphs if stype.name == "Query" else [s for s, _ in sources]
        for sub in order:
            graph = self.graph_of[sub.name]
            tdef = by_name.get(sub.name)
            if tdef is None or not tdef.keys:
                stype.join_types.append(JoinType(graph, is_interface_object=bool(tdef and tdef.interface_object)))
                continue
            for key in tdef.keys:
                stype.join_types.append(
                    JoinType(graph, key.fields, key.extension, key.resolvable, tdef.interface_object)
                )

    def _implements(self, stype: SType, sources: list[tuple[Subgraph, TypeDef]]) -> None:
        for sub, tdef in sources:
            for iface in tdef.interfaces:
                if iface not in stype.interfaces:
                    stype.interfaces.append(iface)
                stype.implements.append((self.graph_of[sub.name], iface))

    def _enum_usage(self, name: str) -> tuple[str | None, str | None]:
        """An example input position and an example output position of the enum, if any."""
        as_input = as_output = None
        for sub in self.subgraphs:
            for tdef in sub.types.values():
                for f in tdef.fields.values():
                    if f.type.base == name and as_output is None:
                        as_output = f"{tdef.name}.{f.name}"
                    for arg in f.args.values():
                        if arg.type.base == name and as_input is None:
                            as_input = f"{tdef.name}.{f.name}({arg.name}:)"
                for iv in tdef.input_fields.values():
                    if iv.type.base == name and as_input is None:
                        as_input = f"{tdef.name}.{iv.name}"
        return as_input, as_output

    def _merge_enum(self, stype: SType, sources: list[tuple[Subgraph, TypeDef]]) -> None:
        as_input, as_output = self._enum_usage(stype.name)
        all_values: list[str] = []
        for _, tdef in sources:
            all_values.extend(v for v in tdef.values if v not in all_values)
        for value in all_values:
            having = [(sub, tdef.values[value]) for sub, tdef in sources if value in tdef.values]
            lacking = [sub.name for sub, tdef in sources if value not in tdef.values]
            # An @inaccessible value is not in the API schema, so no client can send it: it may be
            # missing elsewhere, and it is kept (with the subgraphs that have it), as Apollo does.
            inaccessible = any(v.deco.inaccessible for _, v in having)
            if lacking and as_input is not None and not inaccessible:
                if as_output is not None:
                    self.issues.add(
                        "ENUM_VALUE_MISMATCH",
                        f'Enum type "{stype.name}" is used as both input type (for example, as type of '
                        f'"{as_input}") and output type (for example, as type of "{as_output}"), but value '
                        f'"{value}" is not defined in all the subgraphs defining "{stype.name}": "{value}" is '
                        f"defined in {quote_subgraphs(s.name for s, _ in having)} but not in "
                        f"{quote_subgraphs(lacking)}",
                        [s.name for s, _ in sources],
                        f"{stype.name}.{value}",
                    )
                continue  # input-only enums keep the values common to all subgraphs
            stype.values[value] = SEnumValue(
                value,
                pick_description([v.description for _, v in having]),
                merge_decorations([v.deco for _, v in having]),
                [self.graph_of[s.name] for s, _ in having],
            )
        if not stype.values and all_values:
            self.issues.add(
                "EMPTY_MERGED_ENUM_TYPE",
                f'None of the values of enum type "{stype.name}" are defined consistently in all the subgraphs '
                "defining that type. As only values common to all subgraphs are merged, this would result in an "
                "empty type.",
                [s.name for s, _ in sources],
                stype.name,
            )

    def _merge_input_object(self, stype: SType, sources: list[tuple[Subgraph, TypeDef]]) -> None:
        merged = merge_input_values(
            self.issues,
            stype.name,
            "field",
            [(sub.name, tdef.input_fields) for sub, tdef in sources],
            arguments=False,
        )
        for name, (value, types_equal) in merged.items():
            if not types_equal:
                value.joins = [
                    JoinField(self.graph_of[sub.name], type=str(tdef.input_fields[name].type)) for sub, tdef in sources
                ]
            stype.input_fields[name] = value
        if not stype.input_fields and any(t.input_fields for _, t in sources):
            self.issues.add(
                "EMPTY_MERGED_INPUT_TYPE",
                f'None of the fields of input object type "{stype.name}" are consistently defined in all the '
                "subgraphs defining that type. As only fields common to all subgraphs are merged, this would "
                "result in an empty type.",
                [s.name for s, _ in sources],
                stype.name,
            )

    # -- whole-schema passes ---------------------------------------------------------------------
    def _add_interface_object_fields(self) -> None:
        """Fields an @interfaceObject adds to an interface also exist on all its implementations."""
        for iface in self.supergraph.types.values():
            if not any(jt.is_interface_object for jt in iface.join_types):
                continue
            for impl in self.supergraph.types.values():
                if impl.kind != Kind.OBJECT or iface.name not in impl.interfaces:
                    continue
                for name, ifield in iface.fields.items():
                    if name not in impl.fields:
                        impl.fields[name] = SField(
                            name, ifield.type, dict(ifield.args), ifield.description, ifield.deco, [JoinField(None)]
                        )

    def _check_implementations(self) -> None:
        for stype in self.supergraph.types.values():
            for iface_name in stype.interfaces:
                iface = self.supergraph.types.get(iface_name)
                if iface is None or iface.kind != Kind.INTERFACE:
                    continue
                for fname in iface.fields:
                    if fname not in stype.fields:
                        defining = [s.name for s in self.subgraphs if s.field(iface_name, fname) is not None]
                        implementing = [g for g, i in stype.implements if i == iface_name]
                        graphs = {v: k for k, v in self.graph_of.items()}
                        self.issues.add(
                            "INTERFACE_FIELD_NO_IMPLEM",
                            f'Interface field "{iface_name}.{fname}" is declared in {quote_subgraphs(defining)} '
                            f'but type "{stype.name}", which implements "{iface_name}" in '
                            f"{quote_subgraphs(graphs[g] for g in dict.fromkeys(implementing))}, does not have "
                            f'field "{fname}".',
                            defining + [graphs[g] for g in implementing],
                            f"{stype.name}.{fname}",
                        )

    def _check_fed1_extensions(self) -> None:
        for sub in self.subgraphs:
            if not sub.fed1:
                continue
            for tdef in sub.types.values():
                if not tdef.extension or tdef.name in ROOT_NAMES.values():
                    continue
                if not any(
                    (other := o.types.get(tdef.name)) is not None and not other.extension for o in self.subgraphs
                ):
                    self.issues.add(
                        "EXTENSION_WITH_NO_BASE",
                        f'[{sub.name}] Type "{tdef.name}" is an extension type, but there is no type definition '
                        f'for "{tdef.name}" in any subgraph.',
                        [sub.name],
                        tdef.name,
                    )

    def _roots(self) -> None:
        for operation, name in ROOT_NAMES.items():
            if name in self.supergraph.types:
                self.supergraph.roots[operation] = name
        query = self.supergraph.types.get("Query")
        if query is None or not query.fields:
            self.issues.add(
                "NO_QUERIES",
                "No queries found in any subgraph: a supergraph must have a query root type.",
                [s.name for s in self.subgraphs],
                None,
            )

    def _executable_directives(self) -> None:
        """Executable directives defined in every subgraph are kept, with the locations they all allow."""
        if not self.subgraphs:
            return
        first = self.subgraphs[0]
        for name, node in first.executable_directives.items():
            others = [s.executable_directives.get(name) for s in self.subgraphs[1:]]
            if any(o is None for o in others):
                continue
            definitions = [node, *(o for o in others if o is not None)]
            locations = [
                loc
                for loc in node.locations
                if all(any(x.value == loc.value for x in d.locations) for d in definitions)
            ]
            arg_names = [
                a.name.value
                for a in node.arguments or ()
                if all(any(b.name.value == a.name.value for b in d.arguments or ()) for d in definitions)
            ]
            if not locations:
                continue
            self.supergraph.executable_directives.append(
                DirectiveDefinitionNode(
                    name=node.name,
                    description=node.description,
                    arguments=tuple(a for a in node.arguments or () if a.name.value in arg_names),
                    repeatable=all(d.repeatable for d in definitions),
                    locations=tuple(locations),
                )
            )
