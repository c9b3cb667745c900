"""Run the deferred parts of a plan after its primary part and build their incremental payloads.

Each deferred part runs as soon as the part it depends on has been delivered (the primary, or an
enclosing deferred fragment), on the same merged data tree: its entity fetches take their
representations from what the earlier parts fetched. Payloads follow the 2022-08-24 defer format
that Apollo's clients and servers use: `{"incremental": [{"data", "path", "label"?, "errors"?}],
"hasNext"}`, one item per object the fragment applies to; errors land in the item they concern.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

import orjson

from ..planning.incremental import DeferSite, IncrementalShape
from ..planning.nodes import DeferredNode, QueryPlan
from ..planning.operation import clauses_hold
from .executor import PlanExecution, collect_paths
from .shaping import shape_at

log = logging.getLogger(__name__)

Path = list[str | int]


class DeferredDelivery:
    """The deferred parts of one request, started once its primary payload has been built."""

    def __init__(
        self,
        primary: PlanExecution,
        plan: QueryPlan,
        shape: IncrementalShape,
        delivered: dict[str, Any] | None,
    ) -> None:
        self.primary = primary
        self.nodes: dict[int, DeferredNode] = {d.id: d for d in plan.deferred}
        self.children: dict[int | None, list[DeferSite]] = {}
        for site in shape.sites:
            self.children.setdefault(site.parent, []).append(site)
        # what the client has received so far: where the next parts' objects are (copied: the
        # payloads handed out must not change under the transports)
        self.delivered: Any = orjson.loads(orjson.dumps(delivered))

    def has_parts(self) -> bool:
        """Whether any deferred part will deliver: not when its objects are absent (or nulled)."""
        return any(self._targets(site) for site in self.children.get(None, ()))

    def _targets(self, site: DeferSite) -> list[Path]:
        if site.frag.clause and not clauses_hold((site.frag.clause,), self.primary.variables):
            return []
        targets: list[Path] = []
        collect_paths(self.delivered, site.path, 0, [], targets)
        return targets

    async def payloads(self) -> AsyncIterator[dict[str, Any]]:
        """The subsequent payloads, each as soon as its part is ready; the last has `hasNext: false`."""
        queue: asyncio.Queue[tuple[DeferSite, list[dict[str, Any]]]] = asyncio.Queue()
        tasks: set[asyncio.Task[None]] = set()
        pending = 0

        def start(parent: int | None) -> None:
            nonlocal pending
            for site in self.children.get(parent, ()):
                pending += 1
                task = asyncio.ensure_future(self._run_part(site, queue))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

        if self.has_parts():
            start(None)
        try:
            while pending:
                site, items = await queue.get()
                pending -= 1
                for item in items:
                    _merge_at(self.delivered, item["path"], item["data"])
                start(site.defer.id)
                payload: dict[str, Any] = {"hasNext": pending > 0}
                if items:
                    payload = {"incremental": items, **payload}
                yield payload
        finally:
            for task in list(tasks):
                task.cancel()

    async def _run_part(self, site: DeferSite, queue: asyncio.Queue[tuple[DeferSite, list[dict[str, Any]]]]) -> None:
        items: list[dict[str, Any]] = []
        try:
            items = await self._part_items(site)
        except Exception:  # a part must end with a payload, whatever happened
            log.exception("deferred part %s failed", site.defer.label or site.defer.id)
            items = [
                {
                    "data": None,
                    "path": list(site.path),
                    "errors": [{"message": "Internal server error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}],
                }
            ]
        await queue.put((site, items))

    async def _part_items(self, site: DeferSite) -> list[dict[str, Any]]:
        primary = self.primary
        variables = primary.variables
        targets = self._targets(site)
        if not targets:
            return []
        run = PlanExecution(primary.client, primary.supergraph, variables, primary.headers)
        run.data = primary.data  # the merged tree: representations come from the earlier parts
        node = self.nodes.get(site.defer.id)
        if node is not None and node.node is not None:
            await run.run(QueryPlan(node.node))
        items: list[dict[str, Any]] = []
        for path in targets:
            obj = _at(run.data, path)
            if type(obj) is not dict:
                continue
            typename = obj.get("__typename") or site.type_name
            if site.runtime_types is not None and typename not in site.runtime_types:
                continue
            errors = [e for e in run.errors if _within(e.get("path"), path)]
            data = shape_at(site.shape, obj, variables, errors, path)
            item: dict[str, Any] = {"data": data, "path": path}
            if site.defer.label is not None:
                item["label"] = site.defer.label
            if errors:
                item["errors"] = errors
            items.append(item)
        claimed = {id(e) for item in items for e in item.get("errors", ())}
        stray = [e for e in run.errors if id(e) not in claimed]
        if stray:  # errors without a path inside one item (a subgraph that failed as a whole)
            if items:
                items[0].setdefault("errors", []).extend(stray)
            else:
                items.append({"data": None, "path": targets[0], "errors": stray})
        return items


def _at(value: Any, path: Path) -> Any:
    for step in path:
        if type(step) is int:
            value = value[step] if type(value) is list and step < len(value) else None
        else:
            value = value.get(step) if type(value) is dict else None
        if value is None:
            return None
    return value


def _within(error_path: Any, path: Path) -> bool:
    return isinstance(error_path, list) and error_path[: len(path)] == path


def _merge_at(tree: Any, path: Path, data: Any) -> None:
    target = _at(tree, path) if path else tree
    if type(target) is dict and type(data) is dict:
        _deep_merge(target, orjson.loads(orjson.dumps(data)))


def _deep_merge(target: dict[str, Any], source: Mapping[str, Any]) -> None:
    for key, value in source.items():
        current = target.get(key)
        if type(current) is dict and type(value) is dict:
            _deep_merge(current, value)
        elif type(current) is list and type(value) is list and len(current) == len(value):
            for index, item in enumerate(value):
                if type(current[index]) is dict and type(item) is dict:
                    _deep_merge(current[index], item)
                elif current[index] is None:
                    current[index] = item
        elif current is None:
            target[key] = value


async def incremental_payloads(
    first: dict[str, Any], delivery: DeferredDelivery
) -> AsyncGenerator[dict[str, Any], None]:
    """The primary payload, then the deferred ones as they are consumed (here, not in gateway.runtime:
    mypyc compiles no async generator, and runtime is compiled)."""
    yield first
    if first["hasNext"]:
        async for payload in delivery.payloads():
            yield payload
