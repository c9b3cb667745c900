"""The planner's bookkeeping for @defer: which fragments become deferred parts, and where they sit."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from .operation import CFrag


@dataclass(slots=True)
class DeferPart:
    id: int  # Defer.id of the fragment
    label: str | None
    path: tuple[str, ...]  # response path of the deferred fragment ("@": list levels)
    type_name: str  # the type the fragment applies at
    depends: int | None  # the enclosing deferred part (None: the primary part)


class DeferPlanning:
    """Tracks the deferred part being planned; `current` tags the fetch groups created meanwhile."""

    def __init__(self, deferred: frozenset[int]) -> None:
        self.deferred = deferred
        self.parts: dict[int, DeferPart] = {}
        self.current: int | None = None

    def is_deferred(self, frag: CFrag) -> bool:
        return frag.defer is not None and frag.defer.id in self.deferred

    @contextmanager
    def part(self, frag: CFrag, path: tuple[str, ...], type_name: str) -> Iterator[int]:
        assert frag.defer is not None
        defer = frag.defer
        # an abstract position plans the fragment once per runtime type: one part all the same
        self.parts.setdefault(defer.id, DeferPart(defer.id, defer.label, path, type_name, self.current))
        outer, self.current = self.current, defer.id
        try:
            yield defer.id
        finally:
            self.current = outer
