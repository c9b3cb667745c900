"""gateway.authz without servers: requirements read from the supergraph, outcomes, variants and
their plans, the policy decider setting, subscriptions."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from authn.tokens import Claims
from gateway.authz.model import Requirement
from gateway.authz.policies import DefaultPolicies, PolicyDeciderError, load_policy_decider
from gateway.composition import SubgraphSource, compose
from gateway.runtime import Gateway
from gateway.subscriptions.executor import OperationError

SDL = """extend schema @link(url: "https://specs.apollo.dev/federation/v2.6",
  import: ["@key", "@authenticated", "@requiresScopes", "@policy"])
type Query {
  open: String
  me: String @authenticated
  report: String @requiresScopes(scopes: [["a", "b"], ["c"]])
  audit: String @policy(policies: [["scope:audit"]])
}
type Subscription {
  ticks: Int @authenticated
  free: Int
}
"""


def claims(*scopes: str, subject: str = "u1") -> Claims:
    return Claims(subject=subject, scopes=frozenset(scopes), claims={}, token="t")


@pytest.fixture(scope="module")
def gateway() -> Gateway:
    return Gateway(compose([SubgraphSource("a", "http://a.local/graphql", SDL)]))


def test_requirements_are_read_from_the_supergraph(gateway: Gateway) -> None:
    model = gateway.authorization
    assert model.field_requirement("Query", "me") == Requirement(authenticated=True)
    scopes = model.field_requirement("Query", "report")
    assert scopes is not None and scopes.scopes == (frozenset({"a", "b"}), frozenset({"c"}))
    assert model.field_requirement("Query", "open") is None


def test_an_operation_without_requirements_has_no_authorization_state(gateway: Gateway) -> None:
    assert gateway.prepare("{ open }", None).authorization is None


def test_outcomes_share_variants_and_plans_only_between_equal_rights(gateway: Gateway) -> None:
    prepared = gateway.prepare("{ open me report }", None)
    anonymous = gateway.authorized(prepared, None)
    assert anonymous is not None
    assert [e["path"] for e in anonymous.errors] == [["me"], ["report"]]
    assert gateway.authorized(prepared, None) is anonymous
    only_me = gateway.authorized(prepared, claims("a"))
    assert only_me is not None and only_me is not anonymous
    assert [e["path"] for e in only_me.errors] == [["report"]]
    assert gateway.authorized(prepared, claims("a", "b")) is None  # everything allowed: the shared plan
    assert gateway.authorized(prepared, claims("c", subject="u2")) is None
    plan_text = gateway.plan(prepared, only_me).to_text()
    assert "me" in plan_text and "report" not in plan_text
    assert "report" in gateway.plan(prepared).to_text()


def test_default_policies() -> None:
    policies = DefaultPolicies()
    assert policies.allows("authenticated", claims()) and not policies.allows("authenticated", None)
    assert policies.allows("scope:x", claims("x")) and not policies.allows("scope:x", claims("y"))
    assert policies.allows("subject:u9", claims(subject="u9")) and not policies.allows("subject:u9", claims())
    assert not policies.allows("anything-else", claims("anything-else"))


class Everything:
    def allows(self, policy: str, claims: Claims | None) -> bool:
        return True


EVERYTHING = Everything()


def test_the_policy_decider_setting() -> None:
    assert isinstance(load_policy_decider(None), DefaultPolicies)
    assert isinstance(load_policy_decider(f"{__name__}:Everything"), Everything)
    assert load_policy_decider(f"{__name__}.EVERYTHING") is EVERYTHING
    for bad in ("nodots", "no.such.module:X", f"{__name__}:Nope", f"{__name__}:claims"):
        with pytest.raises(PolicyDeciderError):
            load_policy_decider(bad)


def test_a_policy_decides_with_the_configured_decider() -> None:
    sdl = compose([SubgraphSource("a", "http://a.local/graphql", SDL)])
    from gateway.config import Settings

    gateway = Gateway(sdl, Settings(policy_decider=f"{__name__}:Everything"))
    prepared = gateway.prepare("{ audit }", None)
    assert gateway.authorized(prepared, None) is None
    default = Gateway(sdl)
    variant = default.authorized(default.prepare("{ audit }", None), None)
    assert variant is not None and variant.errors[0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"


def test_an_unauthorized_subscription_root_field_ends_the_operation(gateway: Gateway) -> None:
    from gateway.subscriptions.engine import SubscriptionEngine

    prepared = gateway.prepare("subscription { ticks }", None)
    engine = SubscriptionEngine(gateway, hub=None)  # type: ignore[arg-type]
    context: Any = type("Ctx", (), {"headers": {}, "peer": None})()
    with pytest.raises(OperationError) as raised:
        engine.subscribe(prepared, {}, context, gateway.authorized(prepared, None))
    assert raised.value.errors[0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert raised.value.errors[0]["path"] == ["ticks"]


def test_execute_treats_a_missing_token_as_anonymous(gateway: Gateway) -> None:
    result = asyncio.run(gateway.execute("{ me }"))
    assert result["errors"][0]["extensions"]["code"] == "UNAUTHORIZED_FIELD_OR_TYPE"
    assert result["data"] == {"me": None}


class Broken:
    def allows(self, policy: str, claims: Claims | None) -> bool:
        raise RuntimeError("decider down")


def test_a_failing_decider_denies() -> None:
    from gateway.config import Settings

    sdl = compose([SubgraphSource("a", "http://a.local/graphql", SDL)])
    gateway = Gateway(sdl, Settings(policy_decider=f"{__name__}:Broken"))
    variant = gateway.authorized(gateway.prepare("{ open audit }", None), claims("audit"))
    assert variant is not None and [e["path"] for e in variant.errors] == [["audit"]]
