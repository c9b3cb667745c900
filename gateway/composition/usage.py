"""Which fields a subgraph's @key, @requires and @provides field sets touch, or implement an interface."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fieldset import check_field_set
from .model import Kind, Subgraph

Coordinate = tuple[str, str]  # (type name, field name)


@dataclass
class Usage:
    key_fields: set[Coordinate] = field(default_factory=set)
    provided: set[Coordinate] = field(default_factory=set)
    required: set[Coordinate] = field(default_factory=set)
    implementing: set[Coordinate] = field(default_factory=set)  # object fields implementing an interface field

    @property
    def used(self) -> set[Coordinate]:
        """Apollo's `isFieldUsed`: an overridden field still used this way keeps `usedOverridden`."""
        return self.key_fields | self.provided | self.required | self.implementing


def field_usage(sub: Subgraph) -> Usage:
    usage = Usage()
    for tdef in sub.types.values():
        for key in tdef.keys:
            usage.key_fields.update(check_field_set(sub, tdef.name, key.fields, for_key=True).visited)
        for fdef in tdef.fields.values():
            if fdef.provides is not None:
                usage.provided.update(check_field_set(sub, fdef.type.base, fdef.provides).visited)
            if fdef.requires is not None:
                usage.required.update(check_field_set(sub, tdef.name, fdef.requires, allow_args=True).visited)
        if tdef.kind == Kind.INTERFACE:
            for impl in sub.possible_types(tdef.name):
                usage.implementing.update((impl.name, name) for name in tdef.fields if name in impl.fields)
    return usage
