"""Which fields a subgraph's @key, @requires and @provides field sets touch."""

from __future__ import annotations

from dataclasses import dataclass, field

from .fieldset import check_field_set
from .model import Subgraph

Coordinate = tuple[str, str]  # (type name, field name)


@dataclass
class Usage:
    key_fields: set[Coordinate] = field(default_factory=set)
    provided: set[Coordinate] = field(default_factory=set)
    required: set[Coordinate] = field(default_factory=set)

    @property
    def used(self) -> set[Coordinate]:
        return self.key_fields | self.provided | self.required


def field_usage(sub: Subgraph) -> Usage:
    usage = Usage()
    for tdef in sub.types.values():
        for key in tdef.keys:
            usage.key_fields.update(check_field_set(sub, tdef.name, key.fields, for_key=True).visited)
        for fdef in tdef.fields.values():
            if fdef.provides is not None:
                usage.provided.update(check_field_set(sub, fdef.type.base, fdef.provides).visited)
            if fdef.requires is not None:
                usage.required.update(check_field_set(sub, tdef.name, fdef.requires).visited)
    return usage
