"""Checks of entity interfaces once merged (Apollo's validateInterfaceKeys / validateInterfaceObjects):
a subgraph with a resolvable `@key` on an interface must define all of its supergraph implementations,
and one with an `@interfaceObject` none of them."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from .errors import CompositionIssue
from .model import Kind, Subgraph
from .supergraph_model import Supergraph


def _types(names: list[str]) -> str:
    quoted = [f'"{n}"' for n in names]
    if len(quoted) == 1:
        return f"type {quoted[0]}"
    return f"types {', '.join(quoted[:-1])} and {quoted[-1]}"


def check_entity_interfaces(subgraphs: Sequence[Subgraph], supergraph: Supergraph) -> Iterator[CompositionIssue]:
    for iface in supergraph.types.values():
        if iface.kind != Kind.INTERFACE:
            continue
        implementations = [
            t.name for t in supergraph.types.values() if t.kind == Kind.OBJECT and iface.name in t.interfaces
        ]
        for sub in subgraphs:
            local = sub.type(iface.name)
            if local is None:
                continue
            if local.interface_object:
                defined = [n for n in implementations if sub.type(n) is not None]
                if defined:
                    yield CompositionIssue(
                        "INTERFACE_OBJECT_USAGE_ERROR",
                        f'[{sub.name}] Interface type "{iface.name}" is defined as an @interfaceObject in subgraph '
                        f'"{sub.name}" so that subgraph should not define any of the implementation types of '
                        f'"{iface.name}", but it defines {_types(defined)}',
                        [sub.name],
                        iface.name,
                    )
                continue
            if local.kind != Kind.INTERFACE:
                continue
            key = next((k for k in local.keys if k.resolvable), None)
            if key is None:
                continue
            here = {t.name for t in sub.possible_types(iface.name)}
            missing = [n for n in implementations if n not in here]
            if missing:
                yield CompositionIssue(
                    "INTERFACE_KEY_MISSING_IMPLEMENTATION_TYPE",
                    f'[{sub.name}] Interface type "{iface.name}" has a resolvable key (@key(fields: "{key.fields}"))'
                    f' in subgraph "{sub.name}" but that subgraph is missing some of the supergraph implementation '
                    f'types of "{iface.name}". Subgraph "{sub.name}" should define {_types(missing)} (and have '
                    f'{"them" if len(missing) > 1 else "it"} implement "{iface.name}").',
                    [sub.name],
                    iface.name,
                )
