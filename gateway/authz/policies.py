"""Who decides a `@policy` name: a pluggable :class:`PolicyDecider`, chosen by `GATEWAY_POLICY_DECIDER`.

The setting is a dotted path, `package.module:attribute` (or `package.module.attribute`), to a
decider object or to a class/factory without arguments that makes one. The default,
:class:`DefaultPolicies`, knows three forms of name and refuses every other:

* `authenticated`: any verified token;
* `scope:<name>`: the token carries that scope;
* `subject:<sub>`: the token's subject is `<sub>`.
"""

from __future__ import annotations

import importlib
from typing import Protocol, runtime_checkable

from authn.tokens import Claims

DEFAULT_DECIDER = "gateway.authz.policies:DefaultPolicies"


@runtime_checkable
class PolicyDecider(Protocol):
    def allows(self, policy: str, claims: Claims | None) -> bool:
        """Whether the request (verified claims, None when anonymous) satisfies `policy`.

        Called once per policy name an operation meets, per request, on the event loop: keep it fast."""
        ...


class DefaultPolicies:
    def allows(self, policy: str, claims: Claims | None) -> bool:
        if claims is None:
            return False
        kind, _, value = policy.partition(":")
        if policy == "authenticated":
            return True
        if kind == "scope" and value:
            return value in claims.scopes
        if kind == "subject" and value:
            return claims.subject == value
        return False


class PolicyDeciderError(ValueError):
    """The configured decider cannot be loaded (the gateway refuses to start)."""


def load_policy_decider(path: str | None) -> PolicyDecider:
    target = (path or DEFAULT_DECIDER).strip()
    module_name, sep, attribute = target.partition(":")
    if not sep:
        module_name, _, attribute = target.rpartition(".")
    if not module_name or not attribute:
        raise PolicyDeciderError(f"GATEWAY_POLICY_DECIDER must be `module:attribute`, got {target!r}")
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise PolicyDeciderError(f"GATEWAY_POLICY_DECIDER {target!r} cannot be loaded: {exc}") from exc
    decider = found() if isinstance(found, type) or (callable(found) and not hasattr(found, "allows")) else found
    if not isinstance(decider, PolicyDecider):
        raise PolicyDeciderError(f"GATEWAY_POLICY_DECIDER {target!r} has no allows(policy, claims) method")
    return decider
