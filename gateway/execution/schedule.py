"""A query plan as a dependency graph of its fetches, so a branch does not wait for a slower sibling.

The planner's tree says `Sequence [A, Parallel [B, C], D]`: run level by level, D waits for B and C
even when it reads only what B wrote. Here each fetch waits only for the earlier fetches (earlier in
the tree's sequences) whose writes it reads:

- a fetch writes its selection's top-level response keys into the objects at its path (the root
  for a root fetch);
- an entity fetch reads the objects at its path (so every key along the path) and, from those
  objects, its representations' key and `@requires` fields.

X reads Y's writes when Y's path is a prefix of X's and the key after it is one Y writes (or they
are at the same path and X's representations read a key Y writes), or X's path is a prefix of Y's
and X's representations read the key leading to Y's objects. Anything the rules cannot see through
is a dependency: root fetches after others, `@fromContext` (it reads ancestors), the planner's
internal aliases, a selection that does not parse. Mutations keep the tree: their root fields run
in order.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..planning.nodes import FetchNode, FlattenNode, PlanNode, RepSel, SequenceNode
from .selections import selected

Leaf = FetchNode | FlattenNode


@dataclass(frozen=True, slots=True)
class Step:
    """One fetch of the plan and the positions (in the schedule) of the steps it waits for."""

    node: Leaf
    after: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Access:
    path: tuple[str, ...]
    writes: frozenset[str] | None  # None: unknown, so anything
    reads: frozenset[str] | None  # keys read from the objects at `path`; None: anything (or anywhere)
    root: bool


def schedule(node: PlanNode) -> tuple[Step, ...] | None:
    """The fetches of `node` with their dependencies; None when the graph would wait exactly as the
    tree does (nothing to gain) or for a mutation's plan."""
    steps: list[Step] = []
    accesses: list[_Access] = []
    gains = [False]

    def visit(current: PlanNode, before: list[int]) -> list[int]:
        if isinstance(current, (FetchNode, FlattenNode)):
            fetch = current.node if isinstance(current, FlattenNode) else current
            if fetch.operation_kind == "mutation":
                raise _TreeOnly
            access = _access_of(current)
            after = tuple(i for i in before if _reads_from(access, accesses[i]))
            if len(after) < len(before):
                gains[0] = True
            steps.append(Step(current, after))
            accesses.append(access)
            return [len(steps) - 1]
        made: list[int] = []
        if isinstance(current, SequenceNode):
            earlier = list(before)
            for child in current.nodes:
                produced = visit(child, earlier)
                earlier.extend(produced)
                made.extend(produced)
        else:  # ParallelNode
            for child in current.nodes:
                made.extend(visit(child, before))
        return made

    try:
        visit(node, [])
    except _TreeOnly:
        return None
    return tuple(steps) if gains[0] else None


class _TreeOnly(Exception):
    pass


def _access_of(leaf: Leaf) -> _Access:
    if isinstance(leaf, FetchNode):
        return _Access((), _written_keys(leaf.operation, entities=False), None, True)
    fetch = leaf.node
    writes = None if fetch.unalias is not None else _written_keys(fetch.operation, entities=True)
    reads: frozenset[str] | None = None
    if not fetch.context_values:
        keys = {"__typename"}
        for recipe in (fetch.entity_reps or {}).values():
            _top_keys(recipe.keys, keys)
            _top_keys(recipe.requires, keys)
        reads = frozenset(keys)
    return _Access(leaf.keys, writes, reads, False)


def _top_keys(sel: RepSel, out: set[str]) -> None:
    for data_key, _, _ in sel.fields:
        out.add(data_key)
    for _, sub in sel.frags:
        _top_keys(sub, out)


def _reads_from(x: _Access, y: _Access) -> bool:
    """Whether the fetch `x` may read what the earlier fetch `y` writes."""
    if x.root or x.reads is None or y.writes is None:
        return True
    px, py = x.path, y.path
    if len(py) <= len(px) and px[: len(py)] == py:
        if len(py) < len(px):
            return px[len(py)] in y.writes
        return not x.reads.isdisjoint(y.writes)
    if len(px) < len(py) and py[: len(px)] == px:
        return py[len(px)] in x.reads
    return False  # different branches of the response


@functools.lru_cache(maxsize=4096)
def _written_keys(operation: str, entities: bool) -> frozenset[str] | None:
    """The response keys a fetch's selection writes (None: not all known)."""
    found = selected(operation, entities)
    if found is None or not found.complete:
        return None
    return frozenset(key for _, key in found.fields)
