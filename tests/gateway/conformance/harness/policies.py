"""A `@policy` decider plug-in for the authorization scenarios (GATEWAY_POLICY_DECIDER)."""

from __future__ import annotations

from authn.tokens import Claims
from gateway.authz.policies import DefaultPolicies


class StaffPolicies(DefaultPolicies):
    """`staff`: a subject starting with `staff-`; the default names otherwise."""

    def allows(self, policy: str, claims: Claims | None) -> bool:
        if policy == "staff":
            return claims is not None and claims.subject.startswith("staff-")
        return super().allows(policy, claims)
