"""The authorization state of one prepared (cached) operation.

Preparing an operation collects the distinct requirements its selections meet (none: the operation
has no authorization state at all and costs nothing per request). A request's *outcome* is the set
of those requirements its identity fails; each outcome has its own filtered selections, errors and
plans, so a plan made for one user's rights never serves another's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from graphql import GraphQLSchema

from authn.tokens import Claims

from ..planning.nodes import PlanKey, QueryPlan
from ..planning.operation import CSel
from .filter import SelectionFilter
from .model import AuthorizationModel, Requirement
from .policies import PolicyDecider

log = logging.getLogger("gateway.authz")

UNAUTHORIZED_FIELD_OR_TYPE = "UNAUTHORIZED_FIELD_OR_TYPE"
UNAUTHORIZED_MESSAGE = "Unauthorized field or type"
Outcome = frozenset[int]


@dataclass(slots=True)
class AuthorizedVariant:
    """The operation as one authorization outcome sees it."""

    selections: tuple[CSel, ...]
    errors: tuple[dict[str, Any], ...]
    plans: dict[PlanKey, QueryPlan] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


class OperationAuthorization:
    MAX_VARIANTS = 64  # distinct outcomes kept per operation (a handful in practice)

    def __init__(
        self,
        schema: GraphQLSchema,
        model: AuthorizationModel,
        root_type: str,
        selections: tuple[CSel, ...],
        requirements: tuple[Requirement, ...],
    ) -> None:
        self.schema = schema
        self.model = model
        self.root_type = root_type
        self.selections = selections
        self.requirements = requirements
        self._index = {r: i for i, r in enumerate(requirements)}
        self._variants: dict[Outcome, AuthorizedVariant] = {}
        self._lock = threading.Lock()

    @classmethod
    def of(
        cls, schema: GraphQLSchema, model: AuthorizationModel, root_type: str, selections: tuple[CSel, ...]
    ) -> OperationAuthorization | None:
        """None when no selection of the operation meets a requirement."""
        met: dict[Requirement, None] = {}

        def record(requirement: Requirement) -> bool:
            met.setdefault(requirement)
            return False

        SelectionFilter(schema, model, record).run(root_type, selections)
        return cls(schema, model, root_type, selections, tuple(met)) if met else None

    def outcome(self, claims: Claims | None, policies: PolicyDecider) -> Outcome:
        decided: dict[str, bool] = {}

        def allows(name: str, who: Claims | None) -> bool:
            if name not in decided:
                try:
                    decided[name] = bool(policies.allows(name, who))
                except Exception:  # a failing decider denies (fails closed) and is logged, never a 500
                    log.exception("the @policy decider failed on %r; denied", name)
                    decided[name] = False
            return decided[name]

        return frozenset(i for i, r in enumerate(self.requirements) if not r.satisfied(claims, allows))

    def variant(self, outcome: Outcome) -> AuthorizedVariant:
        found = self._variants.get(outcome)
        if found is not None:
            return found
        with self._lock:
            found = self._variants.get(outcome)
            if found is None:
                found = self._filtered(outcome)
                if len(self._variants) >= self.MAX_VARIANTS:
                    self._variants.clear()
                self._variants[outcome] = found
        return found

    def _filtered(self, outcome: Outcome) -> AuthorizedVariant:
        index = self._index
        pass_ = SelectionFilter(self.schema, self.model, lambda r: index.get(r, -1) in outcome)
        selections = pass_.run(self.root_type, self.selections)
        return AuthorizedVariant(selections, unauthorized_errors(pass_.removed))


def unauthorized_errors(paths: Sequence[tuple[str, ...]]) -> tuple[dict[str, Any], ...]:
    return tuple(
        {"message": UNAUTHORIZED_MESSAGE, "path": list(path), "extensions": {"code": UNAUTHORIZED_FIELD_OR_TYPE}}
        for path in dict.fromkeys(paths)
    )
