"""The transport-independent request path: prepare (cached) -> execute plan -> shape.

HTTP (gateway.server) and the subscription transports (gateway.subscriptions) call :class:`Gateway`.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import random
import re
from collections.abc import AsyncGenerator, Mapping
from typing import Any

from graphql import GraphQLSchema, execute_sync, parse
from graphql.execution.values import get_variable_values

from authn.tokens import Claims

from . import metrics
from .auth import RequestIdentity, Unauthenticated
from .authz.model import AuthorizationModel
from .authz.operation import AuthorizedVariant, OperationAuthorization
from .authz.policies import load_policy_decider
from .cache import CacheStore, CacheUnavailable, InvalidationError, RequestCache, parse_invalidations
from .cache.listener import InvalidationListener
from .cache.local import LocalResponses
from .config import Settings
from .execution.executor import PlanExecution
from .execution.http import SubgraphClient
from .execution.incremental import DeferredDelivery, incremental_payloads
from .execution.merge import merge_into
from .execution.response_json import response_body
from .execution.shaping import shape_response
from .limits.costs import CostModel
from .limits.offload import PrepareOffload
from .limits.report import cost_extension
from .persisted import PersistedQueries
from .planning.nodes import FetchNode, FlattenNode, ParallelNode, PlanNode, QueryPlan, SequenceNode
from .planning.prepare import PlanCache, PreparedOperation, RequestError, error_dict, prepare_operation
from .ratelimit.limiter import limiter_for
from .supergraph import Supergraph, build_api_schema, parse_supergraph

# Documents longer than this are cached under their digest (bytes: never equal to a document's
# text), so 1,024 cached entries cannot pin 1,024 two-megabyte documents in memory.
_DIGEST_KEYS_ABOVE = 4096

log = logging.getLogger("gateway.runtime")

# how long start-up waits for the cache's invalidation subscription before serving without the local tier
LISTENER_STARTUP_SECONDS = 2.0
_PERCENT = re.compile(r"^percent\((\d+(?:\.\d+)?)\)$")
INTROSPECTION_DISABLED = "GraphQL introspection is not allowed (set GATEWAY_INTROSPECTION=true to allow it)."
_BASE_HEADERS = {"content-type": "application/json", "accept": "application/json"}
# Forwarded headers that name one request (a proxy stamps X-Request-ID on every one) and never change
# what a subgraph answers: shared subscriptions leave them out of their sharing keys.
PER_REQUEST_HEADERS = frozenset({"x-request-id", "traceparent", "tracestate"})


class Gateway:
    """Owns the supergraph, API schema, plan cache and subgraph client of one process."""

    def __init__(self, supergraph_sdl: str, settings: Settings | None = None) -> None:
        self.settings = settings or Settings()
        self.supergraph: Supergraph = parse_supergraph(supergraph_sdl)
        self.schema: GraphQLSchema = build_api_schema(supergraph_sdl)
        urls = {name: sub.url for name, sub in self.supergraph.subgraphs.items()}
        urls.update(self.settings.subgraph_urls)
        self.client = SubgraphClient(urls, self.settings)
        self.cache = PlanCache(self.settings.plan_cache_size)
        self.limits = self.settings.limits
        self.costs = CostModel.from_sdl(supergraph_sdl)
        # @authenticated / @requiresScopes / @policy (gateway.authz); policies decided by the operator's plug-in
        self.authorization = AuthorizationModel.from_document(parse(supergraph_sdl, no_location=True))
        self.policies = load_policy_decider(self.settings.policy_decider)
        self.offload: PrepareOffload[PreparedOperation | RequestError] = PrepareOffload(
            self.limits.prepare_workers, self.limits.prepare_queue
        )
        # edge guards (docs/edge.md): None / pass-through unless configured, so they cost nothing off
        self.rate_limiter = limiter_for(self.settings)
        self.persisted = PersistedQueries.from_settings(self.settings)
        # the entity and query cache (gateway.cache): None when it is off
        cache_url = self.settings.cache_redis_url
        cache = self.settings.cache
        local = LocalResponses(cache.local_max_bytes) if cache_url and cache.local_max_bytes else None
        self.response_cache: CacheStore | None = (
            CacheStore(cache_url, cache.key_prefix, cache.max_ttl_seconds, cache.redis_timeout_seconds, local)
            if cache_url
            else None
        )
        self.cache_listener = (
            InvalidationListener(cache_url, cache.key_prefix, local, cache.redis_timeout_seconds)
            if cache_url and local is not None
            else None
        )
        # who is asking: verified once per request, before planning (gateway.auth)
        self.auth = RequestIdentity(self.settings.verifier_config())
        # traceparent: the subgraphs' log lines carry the client's trace id
        forwarded = ("authorization", "x-request-id", "traceparent", *self.settings.forward_headers)
        self._forward = tuple(dict.fromkeys(forwarded))
        self._fixed_labels = frozenset(
            label for label in self.supergraph.override_labels if label in self.settings.override_labels
        )
        self._percent_labels: tuple[tuple[str, float], ...] = tuple(
            (label, float(match.group(1)))
            for label in sorted(self.supergraph.override_labels)
            if (match := _PERCENT.match(label)) and label not in self._fixed_labels
        )

    async def start(self) -> None:
        await self.client.start()
        if self.cache_listener is not None:
            self.cache_listener.start()
            # serving starts either way: until subscribed, the in-process tier is bypassed
            await self.cache_listener.wait_subscribed(LISTENER_STARTUP_SECONDS)

    async def close(self) -> None:
        self.offload.close()
        await self.client.close()
        if self.rate_limiter is not None:
            await self.rate_limiter.aclose()
        await self.persisted.aclose()
        if self.cache_listener is not None:
            await self.cache_listener.aclose()
        if self.response_cache is not None:
            await self.response_cache.aclose()

    async def identify(self, headers: Mapping[str, str], peer: str | None) -> Claims | None:
        """The request's verified token claims (None: anonymous), before any planning or fan-out. A
        refused token is a 401, after taking its IP's general rate budget (429 once that is spent)."""
        try:
            return await self.auth.verify_request_token(headers)
        except Unauthenticated:
            if self.rate_limiter is not None:
                await self.rate_limiter.check_refused_token(headers, peer)
            raise

    # --- preparation -------------------------------------------------------------------
    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        """Parsed, validated, planned operation; cached by (document, operationName). Raises RequestError.

        Synchronous: for tools and tests. Request handlers use :meth:`prepare_async`."""
        key = _cache_key(query, operation_name)
        cached = self.cache.get(key)
        metrics.plan_cache(cached is not None)
        if cached is None:
            cached = self._prepare_fresh(query, operation_name, None)
            self.cache.put(key, cached)
        if isinstance(cached, RequestError):
            raise cached
        return self._allowed(cached)

    async def prepare_async(self, query: str, operation_name: str | None) -> PreparedOperation:
        """As :meth:`prepare`; a cache hit answers at once, a fresh document is prepared (and planned)
        in a worker thread (gateway.limits.offload) so the event loop keeps serving others."""
        key = _cache_key(query, operation_name)
        cached = self.cache.get(key)
        metrics.plan_cache(cached is not None)
        if cached is None:
            labels = self.active_labels()
            # a full queue raises its 503 here, uncached: it says nothing about the document
            cached = await self.offload.run(key, lambda: self._prepare_fresh(query, operation_name, labels))
            self.cache.put(key, cached)
        if isinstance(cached, RequestError):
            raise cached
        return self._allowed(cached)

    def _allowed(self, prepared: PreparedOperation) -> PreparedOperation:
        if prepared.introspection is not None and not self.settings.introspection:
            raise RequestError([error_dict(INTROSPECTION_DISABLED, "GRAPHQL_VALIDATION_FAILED")])
        return prepared

    def _prepare_fresh(
        self, query: str, operation_name: str | None, labels: frozenset[str] | None
    ) -> PreparedOperation | RequestError:
        try:
            prepared = prepare_operation(
                query,
                operation_name,
                self.schema,
                self.supergraph,
                self.limits,
                self.costs,
                labels,
                hide_suggestions=self.settings.production,
            )
            if not self.authorization.empty:
                prepared.authorization = OperationAuthorization.of(
                    self.schema, self.authorization, prepared.root_type, prepared.selections
                )
            return prepared
        except RequestError as exc:
            # Refusals are cached like plans, so a repeat costs a lookup; cached without the traceback,
            # whose frames (the parser's among them) would keep the whole document alive.
            return RequestError(exc.errors, exc.status)

    def active_labels(self) -> frozenset[str]:
        """Progressive-override labels in force for one request (percent labels drawn at random)."""
        if not self._percent_labels:
            return self._fixed_labels
        active = set(self._fixed_labels)
        for label, percent in self._percent_labels:
            if percent >= 100 or (percent > 0 and random.random() * 100 < percent):
                active.add(label)
        return frozenset(active)

    def authorized(self, prepared: PreparedOperation, claims: Claims | None) -> AuthorizedVariant | None:
        """The operation as `claims` may see it (None: everything it selects is allowed)."""
        authorization = prepared.authorization
        if authorization is None:
            return None
        outcome = authorization.outcome(claims, self.policies)
        return authorization.variant(outcome) if outcome else None

    def plan(self, prepared: PreparedOperation, variant: AuthorizedVariant | None = None) -> QueryPlan:
        return prepared.plan_for(self.active_labels(), variant=variant)

    def coerce_variables(self, prepared: PreparedOperation, variables: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate variables against the operation; returns the values to use (defaults applied)."""
        raw = dict(variables or {})
        if not prepared.variable_definitions:
            return raw
        coerced = get_variable_values(
            self.schema,
            tuple(prepared.variable_definitions.values()),
            raw,
            max_errors=50,
            hide_suggestions=self.settings.production,
        )
        if isinstance(coerced, list):
            raise RequestError([error_dict(e.message, "BAD_USER_INPUT") for e in coerced])
        for name, value in prepared.defaults.items():
            raw.setdefault(name, value)
        if prepared.variable_cost is not None and self.limits.max_cost > 0:  # `first: $n` is known only now
            prepared.variable_cost.check(raw)
        return raw

    def estimated_cost(self, prepared: PreparedOperation, variables: Mapping[str, Any]) -> int:
        """The demand-control estimate of the operation with these variable values."""
        if prepared.variable_cost is not None:
            return prepared.variable_cost.measure(variables)[0]
        return prepared.estimated_cost

    def subgraph_headers(self, headers: Mapping[str, str] | None) -> dict[str, str]:
        if not headers:
            return _BASE_HEADERS
        out = dict(_BASE_HEADERS)
        for name in self._forward:
            value = headers.get(name)
            if value is not None:
                out[name] = value
        return out

    # --- execution ---------------------------------------------------------------------
    async def execute(
        self,
        query: str,
        variables: Mapping[str, Any] | None = None,
        operation_name: str | None = None,
        headers: Mapping[str, str] | None = None,
        *,
        include_plan: bool = False,
    ) -> dict[str, Any]:
        """Full GraphQL response for one request; request errors become `{"errors": [...]}`."""
        try:
            claims = await self.auth.verify_request_token(headers or {})
            prepared = await self.prepare_async(query, operation_name)
            values = self.coerce_variables(prepared, variables)
            return await self.execute_prepared(prepared, values, headers, include_plan=include_plan, claims=claims)
        except RequestError as exc:
            return {"errors": exc.errors}

    async def execute_prepared(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        *,
        include_plan: bool = False,
        claims: Claims | None = None,
        include_cost: bool = False,
    ) -> dict[str, Any]:
        """`claims`: the verified identity (None: anonymous), which fields it may see (gateway.authz)."""
        variant = self.authorized(prepared, claims)
        plan = self.plan(prepared, variant)
        run = await self._run(prepared, plan, variant, variables, headers, claims)
        data = shape_response(prepared.shape, run.data, variables, run.errors)
        response: dict[str, Any] = {}
        if run.errors:
            response["errors"] = run.errors
        response["data"] = data
        extensions = self._extensions(prepared, variables, plan, include_plan, include_cost)
        if extensions:
            response["extensions"] = extensions
        return response

    async def execute_to_json(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        document: str,
        operation_name: str | None,
        claims: Claims | None = None,
    ) -> tuple[bytes, bool]:
        """The response as JSON bytes, and whether it has errors. A query whose every field the caller
        may see is first looked up whole in the cache (gateway.cache), and stored when every part of it
        could be; anything else runs as :meth:`execute_prepared` does, without extensions."""
        store = self.response_cache
        variant = self.authorized(prepared, claims)
        if store is None or prepared.kind != "query" or variant is not None or prepared.introspection is not None:
            plan = self.plan(prepared, variant)
            run = await self._run(prepared, plan, variant, variables, headers, claims)
            return response_body(prepared.shape, run.data, variables, run.errors), bool(run.errors)
        plan = self.plan(prepared, None)
        cache = RequestCache(store, claims.subject if claims is not None else None)
        lookup = await cache.response_lookup(document, operation_name, variables, plan_subgraphs(plan))
        if lookup.body is not None:
            return lookup.body, False
        run = await self._run(prepared, plan, None, variables, headers, claims, cache)
        body = response_body(prepared.shape, run.data, variables, run.errors)
        if run.errors:
            return body, True
        await cache.response_store(lookup, body)
        return body, False

    async def execute_incremental(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        *,
        include_plan: bool = False,
        claims: Claims | None = None,
        include_cost: bool = False,
    ) -> AsyncGenerator[dict[str, Any], None] | None:
        """The payloads of an operation whose @defer fragments are in force (None: there are none, so
        :meth:`execute_prepared` answers it): the primary part is fetched before this returns (its
        RequestErrors raise here), the deferred parts as the payloads are consumed. Authorization
        applies as in :meth:`execute_prepared`; its errors come with the primary part."""
        deferred = prepared.active_defers(variables)
        if not deferred:
            return None
        variant = self.authorized(prepared, claims)
        plan = prepared.plan_for(self.active_labels(), deferred, variant)
        shape = prepared.incremental_for(deferred)
        run = await self._run(prepared, plan, variant, variables, headers, claims)
        data = shape_response(shape.primary, run.data, variables, run.errors)
        delivery = DeferredDelivery(run, plan, shape, data)
        first: dict[str, Any] = {}
        if run.errors:
            first["errors"] = list(run.errors)
        first["data"] = data
        first["hasNext"] = delivery.has_parts()
        extensions = self._extensions(prepared, variables, plan, include_plan, include_cost)
        if extensions:
            first["extensions"] = extensions
        return incremental_payloads(first, delivery)

    def _extensions(
        self,
        prepared: PreparedOperation,
        variables: Mapping[str, Any],
        plan: QueryPlan,
        include_plan: bool,
        include_cost: bool,
    ) -> dict[str, Any]:
        """The response extensions a client asked for: the query plan, the demand-control estimate."""
        extensions: dict[str, Any] = {}
        if include_plan:
            extensions["queryPlan"] = {"json": plan.to_json(), "text": plan.to_text()}
        if include_cost:
            extensions["cost"] = cost_extension(self.estimated_cost(prepared, variables), self.limits.max_cost)
        return extensions

    async def _run(
        self,
        prepared: PreparedOperation,
        plan: QueryPlan,
        variant: AuthorizedVariant | None,
        variables: Mapping[str, Any],
        headers: Mapping[str, str] | None,
        claims: Claims | None = None,
        cache: RequestCache | None = None,
    ) -> PlanExecution:
        """Run the plan (the authorization outcome's errors first) and merge introspection in. A query
        uses the cache; the invalidations the subgraphs asked for are applied before this returns."""
        store = self.response_cache
        if cache is None and store is not None and prepared.kind == "query":
            cache = RequestCache(store, claims.subject if claims is not None else None)
        run = PlanExecution(self.client, self.supergraph, variables, self.subgraph_headers(headers), cache)
        if variant is not None:
            run.errors.extend(dict(error) for error in variant.errors)
        await run.run(plan)
        if run.invalidations and store is not None:
            await self._apply_subgraph_invalidations(store, run.invalidations)
        self._introspect(prepared, variables, run)
        return run

    async def _apply_subgraph_invalidations(self, store: CacheStore, requested: list[tuple[str, Any]]) -> None:
        """The `extensions.invalidation` of subgraph responses; a malformed one or a Redis failure is
        logged (the subgraph's own change stands; its cached entries expire with their max-age)."""
        items = []
        for subgraph, raw in requested:
            try:
                items.extend(parse_invalidations(raw, default_subgraph=subgraph))
            except InvalidationError as exc:
                log.warning("subgraph %s sent a malformed extensions.invalidation: %s", subgraph, exc)
        if items:
            with contextlib.suppress(CacheUnavailable):  # logged and counted by the store
                await store.invalidate(items, "mutation")

    async def invalidate(self, raw: Any) -> int:
        """The invalidation endpoint's work: raises InvalidationError (400), CacheUnavailable (503)."""
        assert self.response_cache is not None
        return await self.response_cache.invalidate(parse_invalidations(raw), "endpoint")

    def _introspect(self, prepared: PreparedOperation, variables: Mapping[str, Any], run: PlanExecution) -> None:
        if prepared.introspection is not None:
            result = execute_sync(
                self.schema,
                prepared.introspection,
                variable_values=dict(variables),
                operation_name=prepared.name,
            )
            if result.data:
                merge_into(run.data, result.data)
            for error in result.errors or ():
                run.errors.append(dict(error.formatted))


def plan_subgraphs(plan: QueryPlan) -> tuple[str, ...]:
    """The subgraphs a plan fetches from (its deferred parts included), each once, sorted; found once
    per plan (plans are cached with their operation)."""
    if plan.subgraphs is not None:
        return plan.subgraphs
    found: set[str] = set()
    pending: list[PlanNode] = [node for node in (plan.node, *(d.node for d in plan.deferred)) if node is not None]
    while pending:
        node = pending.pop()
        if isinstance(node, FetchNode):
            found.add(node.service)
        elif isinstance(node, FlattenNode):
            found.add(node.node.service)
        elif isinstance(node, SequenceNode | ParallelNode):
            pending.extend(node.nodes)
    plan.subgraphs = tuple(sorted(found))
    return plan.subgraphs


def _cache_key(query: str, operation_name: str | None) -> tuple[str | bytes, str | None]:
    if len(query) <= _DIGEST_KEYS_ABOVE:
        return query, operation_name
    return hashlib.sha256(query.encode("utf-8", "surrogatepass")).digest(), operation_name
