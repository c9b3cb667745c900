"""Fixtures: one fixture-subgraph host per session, one composed gateway per scenario module.

Each scenario module declares ``gw = scenario_gateway("name", build_subgraphs, env=...)``.
The ``composer`` parameter runs it with our composition (always) and with the reference
composer @apollo/composition (when `make setup` could install it; see tests/support/reference_tools.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

import pytest

from .harness import (
    GatewayClient,
    GatewayProcess,
    Subgraph,
    SubgraphHost,
    compose_with,
    reference_composer_available,
)


@pytest.fixture(scope="session")
def subgraph_host() -> Iterator[SubgraphHost]:
    host = SubgraphHost()
    host.start()
    yield host
    host.stop()


@pytest.fixture(
    scope="module",
    params=[
        "ours",
        pytest.param(
            "reference",
            marks=pytest.mark.skipif(
                reference_composer_available() is not None,
                reason=f"reference composer: {reference_composer_available()}",
            ),
        ),
    ],
)
def composer(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# Every scenario's subgraph builder, by scenario name (test_scenario_composition.py composes them all).
SCENARIOS: dict[str, Callable[[], list[Subgraph]]] = {}


def scenario_gateway(
    name: str,
    build: Callable[[], list[Subgraph]],
    env: Mapping[str, str] | None = None,
) -> Callable[..., Iterator[GatewayClient]]:
    """A module-scoped fixture: register ``build()`` on the host, compose, serve with the gateway."""
    SCENARIOS[name] = build

    @pytest.fixture(scope="module")
    def gateway_fixture(
        subgraph_host: SubgraphHost, composer: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[GatewayClient]:
        scenario = subgraph_host.register(f"{name}-{composer}", build())
        supergraph = compose_with(composer, scenario)
        process = GatewayProcess(supergraph, tmp_path_factory.mktemp(f"{name}-{composer}"), env)
        process.start()
        client = GatewayClient(process.base_url, scenario)
        try:
            yield client
        finally:
            client.close()
            process.stop()

    return gateway_fixture


@pytest.fixture(autouse=True)
def _fresh_request_logs(request: pytest.FixtureRequest) -> None:
    host = request.getfixturevalue("subgraph_host") if "subgraph_host" in request.fixturenames else None
    if host is not None:
        host.clear_logs()
