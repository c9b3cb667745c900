"""Does a query run on an index? Two checks, because not every server can answer with `explain`.

`serving_indexes` reads a query's shape (its equality, range and sort fields) and the collection's
index keys, and lists the indexes MongoDB's planner can answer it from by the ESR rule: the index's
leading fields are the query's equalities, then its sort keys in order (or all reversed, then the
index provides the order and no in-memory sort is needed), then its range fields. It runs on any
server, the in-memory fake included, and catches a query whose index is missing or out of order.

`explained_plan` asks the server: on MongoDB (a `queryPlanner.winningPlan` in the answer) it returns
the stages of the winning plan (IXSCAN with its index name, COLLSCAN, SORT, ...); on servers whose
explain has no winning plan it returns None and says why. mongoeco 4.11 (the embedded server)
explains with its own engine plan: the memory engine always scans the collection in Python, the
SQLite engine reports SQLite's plan, neither names a MongoDB index for the query.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

RANGE_OPERATORS = {"$gt", "$gte", "$lt", "$lte", "$in", "$not", "$regex"}


@dataclass(frozen=True)
class Shape:
    equality: frozenset[str]
    ranges: frozenset[str]
    sort: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class Serving:
    index: str
    provides_sort: bool
    bounded: tuple[str, ...]  # the fields whose conditions bound the index scan


def shape_of(query: dict[str, Any], sort: list[tuple[str, int]] | None = None) -> Shape:
    equality: set[str] = set()
    ranges: set[str] = set()

    def walk(clause: dict[str, Any]) -> None:
        for field, condition in clause.items():
            if field == "$and":
                for part in condition:
                    walk(part)
            elif field.startswith("$"):
                continue  # $or and the like: a residual filter (the cursor's tie-break), no bounds
            elif isinstance(condition, dict) and "$elemMatch" in condition:
                for sub, inner in condition["$elemMatch"].items():
                    (ranges if isinstance(inner, dict) else equality).add(f"{field}.{sub}")
            elif isinstance(condition, dict) and set(condition) & RANGE_OPERATORS:
                if not _unanchored(condition):
                    ranges.add(field)
            elif not isinstance(condition, dict):
                equality.add(field)

    walk(query)
    return Shape(frozenset(equality), frozenset(ranges - equality), tuple(sort or ()))


def _unanchored(condition: dict[str, Any]) -> bool:
    """A regex bounds an index scan only when it is anchored, case-sensitive (no `i`) and literal."""
    pattern = condition.get("$regex")
    if pattern is None:
        return False
    return not str(pattern).startswith("^") or "i" in str(condition.get("$options", ""))


def serving_indexes(shape: Shape, indexes: dict[str, dict[str, Any]]) -> list[Serving]:
    """Every index among `indexes` (as `index_information()` gives them) that bounds a field of
    `shape` or provides its sort: the candidates MongoDB's planner would race."""
    found = []
    for name, info in indexes.items():
        key = [(str(f), int(d)) for f, d in _pairs(info["key"]) if isinstance(d, int | float)]
        serving = _serve(name, key, shape)
        if serving is not None:
            found.append(serving)
    return found


def sorted_by_index(shape: Shape, indexes: dict[str, dict[str, Any]]) -> Serving | None:
    """An index that bounds every equality of `shape` and provides its sort, if there is one."""
    return next((s for s in serving_indexes(shape, indexes)
                 if s.provides_sort and shape.equality <= set(s.bounded)), None)


def bounding(shape: Shape, indexes: dict[str, dict[str, Any]], field: str) -> Serving | None:
    """An index whose scan is bounded by the condition on `field` (and the equalities before it)."""
    return next((s for s in serving_indexes(shape, indexes) if field in s.bounded), None)


def _pairs(key: Any) -> list[tuple[Any, Any]]:
    return list(key.items()) if isinstance(key, dict) else [tuple(pair) for pair in key]


def _serve(name: str, key: list[tuple[str, int]], shape: Shape) -> Serving | None:
    position = 0
    bounded: list[str] = []
    while position < len(key) and key[position][0] in shape.equality:
        bounded.append(key[position][0])
        position += 1
    provides_sort = False
    if shape.sort:
        window = key[position:position + len(shape.sort)]
        fields = [f for f, _ in window]
        if fields == [f for f, _ in shape.sort]:
            same = all(d == s for (_, d), (_, s) in zip(window, shape.sort, strict=True))
            reversed_ = all(d == -s for (_, d), (_, s) in zip(window, shape.sort, strict=True))
            provides_sort = same or reversed_
        if provides_sort:
            # The first sort key may carry a range too (a keyset cursor): it bounds the scan.
            if shape.sort[0][0] in shape.ranges:
                bounded.append(shape.sort[0][0])
            position += len(shape.sort)
    # Range fields after the equalities (and the sort) bound the scan too: the R of ESR.
    bounded += [f for f, _ in key[position:] if f in shape.ranges and f not in bounded]
    if not bounded and not provides_sort:
        return None
    return Serving(name, provides_sort, tuple(bounded))


@dataclass(frozen=True)
class Explained:
    stages: tuple[str, ...]
    indexes: tuple[str, ...]

    @property
    def collection_scan(self) -> bool:
        return "COLLSCAN" in self.stages

    @property
    def sorts_in_memory(self) -> bool:
        return "SORT" in self.stages


async def explained_plan(collection: Any, query: dict[str, Any], sort: list[tuple[str, int]] | None = None,
                         limit: int = 0) -> Explained | str:
    """The winning plan of `find(query).sort(sort).limit(limit)`, or why the server cannot tell."""
    command: dict[str, Any] = {"find": collection.name, "filter": query}
    if sort:
        command["sort"] = dict(sort)
    if limit:
        command["limit"] = limit
    try:
        answer = await collection.database.command({"explain": command, "verbosity": "queryPlanner"})
    except Exception as exc:  # a server without explain says so; the caller skips with the reason
        return f"explain failed: {exc}"
    planner = answer.get("queryPlanner")
    if not isinstance(planner, dict) or "winningPlan" not in planner:
        engine = answer.get("engine") or answer.get("engine_plan", {}).get("engine")
        return (f"the server's explain has no queryPlanner.winningPlan (engine {engine!r}, "
                f"strategy {answer.get('strategy')!r}): it does not say which index a query uses")
    winning = planner["winningPlan"]
    winning = winning.get("queryPlan", winning)  # the slot-based engine nests the plan
    stages: list[str] = []
    indexes: list[str] = []

    def walk(node: dict[str, Any]) -> None:
        stages.append(str(node.get("stage")))
        if node.get("indexName"):
            indexes.append(str(node["indexName"]))
        for child in [node.get("inputStage"), *(node.get("inputStages") or [])]:
            if isinstance(child, dict):
                walk(child)

    walk(winning)
    return Explained(tuple(stages), tuple(indexes))
