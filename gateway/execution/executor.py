"""Run a query plan: send fetches, merge subgraph JSON into one data tree, collect errors."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import orjson

from ..cache.hints import parse_cache_control
from ..cache.request_cache import EntityLookup, Fetched, RequestCache
from ..planning.nodes import (
    EntityRep,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    RepSel,
    SequenceNode,
)
from ..planning.operation import clauses_hold
from ..supergraph.model import Supergraph
from .context import Chain, collect_with_chains, group_by_context
from .http import SubgraphFetchError
from .inputs import prune_input
from .merge import merge_into
from .representations import NATIVE_REPRESENTATIONS
from .schedule import Step, schedule
from .selections import selected
from .unalias import unalias, unalias_path


def _collect(value: Any, keys: tuple[str, ...], depth: int, out: list[dict[str, Any]]) -> None:
    if type(value) is list:
        for item in value:
            _collect(item, keys, depth, out)
        return
    if type(value) is not dict:
        return
    if depth == len(keys):
        out.append(value)
        return
    _collect(value.get(keys[depth]), keys, depth + 1, out)


def collect_paths(
    value: Any, keys: tuple[str, ...], depth: int, path: list[str | int], out: list[list[str | int]]
) -> None:
    """The concrete paths (list indexes included) of the non-null objects at `keys` in `value`."""
    if type(value) is list:
        for index, item in enumerate(value):
            path.append(index)
            collect_paths(item, keys, depth, path, out)
            path.pop()
        return
    if type(value) is not dict:
        return
    if depth == len(keys):
        out.append(list(path))
        return
    path.append(keys[depth])
    collect_paths(value.get(keys[depth]), keys, depth + 1, path, out)
    path.pop()


def _project(obj: dict[str, Any], sel: RepSel, out: dict[str, Any], strict: bool) -> bool:
    """Copy `sel` from a merged object into a representation; False if a strict (key) field is null."""
    for data_key, rep_key, sub in sel.fields:
        value = obj.get(data_key)
        if value is None:
            if strict and rep_key != "__typename":
                return False
            out[rep_key] = None
        elif sub is None:
            out[rep_key] = value
        else:
            projected = _project_value(value, sub, strict)
            if projected is _INVALID:
                return False
            out[rep_key] = projected
    if sel.frags:
        typename = obj.get("__typename")
        for typenames, sub in sel.frags:
            if typename in typenames and not _project(obj, sub, out, strict):
                return False
    return True


_INVALID = object()


def _project_value(value: Any, sel: RepSel, strict: bool) -> Any:
    if type(value) is list:
        items = []
        for item in value:
            projected = _project_value(item, sel, strict) if item is not None else None
            if projected is _INVALID:
                return _INVALID
            items.append(projected)
        return items
    if type(value) is dict:
        nested: dict[str, Any] = {}
        if not _project(value, sel, nested, strict):
            return _INVALID
        return nested
    return value


def build_representations(
    recipes: Mapping[str, EntityRep], objects: list[dict[str, Any]], positions: Iterable[int], keyed: bool
) -> tuple[list[dict[str, Any]], list[list[int]], list[tuple[str, dict[str, Any], bytes]]]:
    """The representations of `objects[positions]`, each distinct one once, with the positions it
    answers; with `keyed`, also each one's (type, key fields, JSON) for the entity cache."""
    representations: list[dict[str, Any]] = []
    targets: list[list[int]] = []
    identities: list[tuple[str, dict[str, Any], bytes]] = []
    seen: dict[bytes, int] = {}
    for position in positions:
        obj = objects[position]
        recipe = recipes.get(obj.get("__typename"))  # type: ignore[arg-type]
        if recipe is None:
            continue
        rep: dict[str, Any] = {"__typename": recipe.typename}
        if not _project(obj, recipe.keys, rep, True):
            continue
        key = {name: value for name, value in rep.items() if name != "__typename"} if keyed else None
        if recipe.requires.fields or recipe.requires.frags:
            _project(obj, recipe.requires, rep, False)
        rep["__typename"] = recipe.typename
        fingerprint = orjson.dumps(rep)
        index = seen.get(fingerprint)
        if index is None:
            seen[fingerprint] = len(representations)
            representations.append(rep)
            targets.append([position])
            if key is not None:
                identities.append((recipe.typename, key, fingerprint))
        else:
            targets[index].append(position)
    return representations, targets, identities


class SubgraphTransport(Protocol):
    """What the executor needs of the transport (`http.SubgraphClient`): a structural type, so that
    compiled code (mypyc checks declared classes) accepts any transport with these methods."""

    def encode_headers(self, headers: Mapping[str, str]) -> bytes: ...

    async def post_with_hint(
        self,
        service: str,
        body: bytes,
        headers: Mapping[str, str],
        *,
        wire: bytes | None = None,
        idempotent: bool = False,
    ) -> tuple[dict[str, Any], str | None, str | None]: ...


class PlanExecution:
    """State of one request's plan execution.

    `cache` (gateway.cache; a query's plan only) serves root and `_entities` fetches from Redis and
    stores what the subgraphs' hints allow. `invalidations` collects the `extensions.invalidation` of
    every subgraph response, as (subgraph, items), for the caller to apply before answering.
    """

    __slots__ = ("_wire", "cache", "client", "data", "errors", "headers", "invalidations", "supergraph", "variables")

    def __init__(
        self,
        client: SubgraphTransport,
        supergraph: Supergraph,
        variables: Mapping[str, Any],
        headers: Mapping[str, str],
        cache: RequestCache | None = None,
    ) -> None:
        self.client = client
        self.supergraph = supergraph
        self.variables = variables
        self.headers = headers
        self.cache = cache
        self.data: dict[str, Any] = {}
        self.errors: list[dict[str, Any]] = []
        self.invalidations: list[tuple[str, Any]] = []
        self._wire: bytes | None = None  # the headers encoded once for all of this request's fetches

    async def run(self, plan: QueryPlan) -> None:
        if plan.node is None:
            return
        steps = plan.schedule
        if steps is None:
            steps = plan.schedule = schedule(plan.node) or ()
        if steps:
            await self._run_graph(steps)
        else:
            await self._run(plan.node)

    async def _run(self, node: PlanNode) -> None:
        """Level by level, as the tree says (when the dependency graph would wait just the same)."""
        if isinstance(node, FlattenNode):
            await self._flatten(node, self.errors)
        elif isinstance(node, FetchNode):
            await self._root_fetch(node, self.errors)
        elif isinstance(node, SequenceNode):
            for child in node.nodes:
                await self._run(child)
        elif isinstance(node, ParallelNode):
            await asyncio.gather(*(self._run(child) for child in node.nodes))

    async def _run_graph(self, steps: tuple[Step, ...]) -> None:
        """Each fetch as soon as the fetches it reads from are done (gateway.execution.schedule);
        errors are reported in the plan's order, as level by level."""
        loop = asyncio.get_running_loop()
        finished = [loop.create_future() for _ in steps]
        errors: list[list[dict[str, Any]]] = [[] for _ in steps]

        async def run_step(index: int) -> None:
            step = steps[index]
            try:
                for before in step.after:
                    await finished[before]
                if isinstance(step.node, FlattenNode):
                    await self._flatten(step.node, errors[index])
                else:
                    await self._root_fetch(step.node, errors[index])
            finally:
                finished[index].set_result(None)

        await asyncio.gather(*(run_step(index) for index in range(len(steps))))
        for step_errors in errors:
            self.errors.extend(step_errors)

    def _variables_for(self, fetch: FetchNode) -> dict[str, Any]:
        variables = self.variables
        out = {name: variables[name] for name in fetch.variable_usages if name in variables}
        if fetch.input_rewrites:
            for name, type_name in fetch.input_rewrites.items():
                if name in out:
                    out[name] = prune_input(self.supergraph, type_name, fetch.service, out[name])
        return out

    async def _send(
        self,
        fetch: FetchNode,
        variables: dict[str, Any],
        errors: list[dict[str, Any]],
        entity_path: Callable[[], list[str | int] | None] | None = None,
    ) -> tuple[dict[str, Any] | None, Fetched | None]:
        """The subgraph's response (None: it failed, the error is recorded) and what the cache may keep
        of it (None: nothing)."""
        payload: dict[str, Any] = {"query": fetch.operation, "variables": variables}
        if fetch.operation_name:  # the subgraph's access line and metrics name the fetch (as Apollo's router)
            payload["operationName"] = fetch.operation_name
        body = orjson.dumps(payload)
        wire = self._wire
        if wire is None:
            wire = self._wire = self.client.encode_headers(self.headers)
        try:
            response, cache_control, cache_tag = await self.client.post_with_hint(
                fetch.service, body, self.headers, wire=wire, idempotent=fetch.operation_kind != "mutation"
            )
        except SubgraphFetchError as exc:
            error = exc.to_graphql_error()
            path = entity_path() if entity_path is not None else None
            keys = entity_field_keys(fetch.operation) if path is not None else []
            if path is None or not keys:
                errors.append(error)
            else:  # a failed entity fetch: one error per field it left null, at the first entity's path
                errors.extend({**error, "path": [*path, key]} for key in keys)
            if self.cache is not None:
                self.cache.note_failed()
            return None, None
        extensions = response.get("extensions")
        if type(extensions) is dict and "invalidation" in extensions:
            self.invalidations.append((fetch.service, extensions["invalidation"]))
        if self.cache is None:
            return response, None
        return response, self.cache.note_fetched(fetch.service, parse_cache_control(cache_control), cache_tag)

    async def _root_fetch(self, fetch: FetchNode, errors: list[dict[str, Any]]) -> None:
        if fetch.conditions is not None and not clauses_hold(fetch.conditions, self.variables):
            return
        variables = self._variables_for(fetch)
        cache = self.cache
        if cache is None:
            response = (await self._send(fetch, variables, errors))[0]
        else:
            response = await self._cached_root_fetch(cache, fetch, variables, errors)
        if response is None:
            return
        data = response.get("data")
        if type(data) is dict:
            if fetch.unalias is not None:
                unalias(data, fetch.unalias)
            merge_into(self.data, data)
        sent = response.get("errors")
        if sent:
            cleaned = subgraph_errors(sent, fetch.service)
            if fetch.unalias is not None:
                for error in cleaned:
                    if "path" in error:
                        error["path"] = unalias_path(error["path"], fetch.unalias)
            errors.extend(cleaned)

    async def _cached_root_fetch(
        self, cache: RequestCache, fetch: FetchNode, variables: dict[str, Any], errors: list[dict[str, Any]]
    ) -> dict[str, Any] | None:
        lookup = await cache.root_lookup(fetch.service, fetch.operation, variables)
        if lookup.response is not None:
            return lookup.response
        response, fetched = await self._send(fetch, variables, errors)
        if response is not None and fetched is not None and not response.get("errors"):
            data = response.get("data")
            if type(data) is dict:  # serialised before the merge changes it
                await cache.root_store(fetch.service, lookup, orjson.dumps(data), fetched)
        return response

    async def _flatten(self, flatten: FlattenNode, errors: list[dict[str, Any]]) -> None:
        fetch = flatten.node
        if fetch.conditions is not None and not clauses_hold(fetch.conditions, self.variables):
            return
        objects: list[dict[str, Any]] = []
        if not fetch.context_values:
            _collect(self.data, flatten.keys, 0, objects)
            await self._fetch_entities(flatten, objects, range(len(objects)), None, errors)
            return
        # @fromContext: one fetch per distinct tuple of contextual values (gateway.execution.context)
        found: list[tuple[dict[str, Any], Chain]] = []
        collect_with_chains(self.data, flatten.keys, 0, [], found)
        objects = [obj for obj, _ in found]
        groups = group_by_context([chain for _, chain in found], fetch.context_values, _project)
        await asyncio.gather(
            *(self._fetch_entities(flatten, objects, positions, extra, errors) for extra, positions in groups)
        )

    async def _fetch_entities(
        self,
        flatten: FlattenNode,
        objects: list[dict[str, Any]],
        positions: Iterable[int],
        extra_variables: dict[str, Any] | None,
        errors: list[dict[str, Any]],
    ) -> None:
        """One `_entities` fetch for `objects[positions]` (positions index every entity at the path)."""
        fetch = flatten.node
        recipes = fetch.entity_reps or {}
        cache = self.cache
        representations: list[dict[str, Any]]
        targets: list[list[int]]
        identities: list[tuple[str, dict[str, Any], bytes]]  # for the cache: type, key, representation
        if cache is None and NATIVE_REPRESENTATIONS is not None:  # the same, in C
            compiled = fetch.compiled_reps
            if compiled is None:
                compiled = fetch.compiled_reps = NATIVE_REPRESENTATIONS.compile(recipes)
            representations, targets = NATIVE_REPRESENTATIONS.build(compiled, objects, positions)
            identities = []
        else:
            representations, targets, identities = build_representations(recipes, objects, positions, cache is not None)
        if not representations:
            return
        variables = self._variables_for(fetch)
        if extra_variables:
            variables.update(extra_variables)
        lookup: EntityLookup | None = None
        misses: list[int] = []
        if cache is not None:
            lookup = await cache.entity_lookup(fetch.service, fetch.operation, variables, identities)
            misses = [index for index, entity in enumerate(lookup.found) if entity is None]
            for index, entity in enumerate(lookup.found):
                if entity is not None:
                    if fetch.unalias is not None:
                        unalias(entity, fetch.unalias)
                    for position in targets[index]:
                        merge_into(objects[position], entity)
            if not misses:
                return
            if len(misses) < len(representations):  # fetch only the misses, in one batch
                representations = [representations[i] for i in misses]
                targets = [targets[i] for i in misses]
        variables["representations"] = representations

        def first_entity_path() -> list[str | int] | None:
            found: list[list[str | int]] = []
            collect_paths(self.data, flatten.keys, 0, [], found)
            return found[targets[0][0]] if targets[0][0] < len(found) else None

        response, fetched = await self._send(fetch, variables, errors, first_entity_path)
        if response is None:
            return
        data = response.get("data")
        entities = data.get("_entities") if type(data) is dict else None
        if cache is not None and lookup is not None and fetched is not None and type(entities) is list:
            await _store_entities(cache, lookup, misses, entities, response.get("errors"), fetched)
        if type(entities) is list:
            for index, entity in enumerate(entities[: len(representations)]):
                if type(entity) is dict:
                    if fetch.unalias is not None:
                        unalias(entity, fetch.unalias)
                    for position in targets[index]:
                        merge_into(objects[position], entity)
        sent = response.get("errors")
        if sent:
            paths: list[list[str | int]] = []
            collect_paths(self.data, flatten.keys, 0, [], paths)
            for error in subgraph_errors(sent, fetch.service):
                path = error.get("path")
                if (
                    isinstance(path, list)
                    and len(path) >= 2
                    and path[0] == "_entities"
                    and isinstance(path[1], int)
                    and 0 <= path[1] < len(targets)
                ):
                    position = targets[path[1]][0]
                    if position < len(paths):
                        below = path[2:] if fetch.unalias is None else unalias_path(path[2:], fetch.unalias)
                        error["path"] = paths[position] + below
                    else:
                        error.pop("path", None)
                elif path is not None:
                    error.pop("path", None)
                errors.append(error)
        elif type(entities) is not list:
            errors.append(
                {
                    "message": f"Subgraph '{fetch.service}' returned no _entities for the entity fetch",
                    "extensions": {"code": "SUBREQUEST_HTTP_ERROR", "service": fetch.service},
                }
            )


async def _store_entities(
    cache: RequestCache,
    lookup: EntityLookup,
    misses: list[int],
    entities: list[Any],
    errors: Any,
    fetched: Fetched,
) -> None:
    """Store the fetched entities (`entities[i]` answers `misses[i]` of the lookup) that came back as
    objects with no error at or below them; serialised before the merge changes them."""
    if errors:
        if not isinstance(errors, list):
            return
        failed: set[int] = set()
        for error in errors:
            path = error.get("path") if isinstance(error, dict) else None
            if not (isinstance(path, list) and len(path) >= 2 and path[0] == "_entities" and isinstance(path[1], int)):
                return  # an error we cannot place: store nothing from this response
            failed.add(path[1])
    else:
        failed = set()
    stored = [
        (misses[index], orjson.dumps(entity))
        for index, entity in enumerate(entities[: len(misses)])
        if type(entity) is dict and index not in failed
    ]
    await cache.entity_store(lookup, stored, fetched)


def entity_field_keys(operation: str) -> list[str]:
    """The response keys an entity fetch selects on its entities (`_entities { ... on T { a b } }`)."""
    found = selected(operation, entities=True)  # our own planner's text: unparsable only costs the error paths
    if found is None:
        return []
    return list(dict.fromkeys(key for name, key in found.fields if name != "__typename"))


def subgraph_errors(errors: Any, service: str) -> list[dict[str, Any]]:
    """A subgraph's errors as the client sees them: message, path, extensions (with the service)."""
    if not isinstance(errors, list):
        errors = [errors]
    out: list[dict[str, Any]] = []
    for error in errors:
        if isinstance(error, dict):
            clean: dict[str, Any] = {"message": str(error.get("message", "Subgraph error"))}
            if isinstance(error.get("path"), list):
                clean["path"] = list(error["path"])
            extensions = error.get("extensions")
            clean["extensions"] = dict(extensions) if isinstance(extensions, dict) else {}
            clean["extensions"].setdefault("service", service)
            out.append(clean)
        else:
            out.append({"message": str(error), "extensions": {"service": service}})
    return out
