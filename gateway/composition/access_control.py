"""Access-control requirements of implementations carried up to their interfaces.

As the reference composer does: an object type's `@authenticated`/`@requiresScopes`/`@policy` are
added to every interface it implements, and an object field's to the same field of those
interfaces (requirements joined: the interface position needs what every implementation needs),
so that a gateway deciding on the interface cannot hand out an implementation's protected data.
"""

from __future__ import annotations

from .merge_values import dnf_conjunction
from .model import Decorations, Kind
from .supergraph_model import Supergraph


def propagate_to_interfaces(supergraph: Supergraph) -> None:
    for stype in supergraph.types.values():
        if stype.kind is not Kind.OBJECT:
            continue
        for interface_name in stype.interfaces:
            interface = supergraph.types.get(interface_name)
            if interface is None or interface.kind is not Kind.INTERFACE:
                continue
            _join(interface.deco, stype.deco)
            for name, sfield in stype.fields.items():
                target = interface.fields.get(name)
                if target is not None:
                    _join(target.deco, sfield.deco)


def _join(into: Decorations, source: Decorations) -> None:
    into.authenticated = into.authenticated or source.authenticated
    into.requires_scopes = dnf_conjunction(into.requires_scopes, source.requires_scopes)
    into.policies = dnf_conjunction(into.policies, source.policies)
