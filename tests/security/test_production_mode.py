"""APP_ENV=production: every process refuses development defaults (naming the setting); the gateway
serves no introspection, GraphiQL or suggestions unless enabled, refuses tokens of the public dev
secret, and redacts subgraph transport details (logged with the request id instead)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from pathlib import Path

import httpx
import pytest

from authn.appenv import DEV_JWT_SECRET, InsecureConfiguration
from gateway.config import Settings as GatewaySettings
from gateway.server import create_app as create_gateway
from subgraphs.kit.auth import issue_token
from subgraphs.kit.embedded_redis import free_port
from subgraphs.kit.settings import Settings
from tests.security.services import (
    AUDIENCE,
    ISSUER,
    SUBGRAPH_SECRET,
    KeyPair,
    Running,
    internal_headers,
    production_env,
    products_and_gateway,
)
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi

ROOT = Path(__file__).resolve().parents[2]
KEY = KeyPair.generate("ES256")
TYPO = {"query": "{ categorys { slug } }"}


def gateway_production(**changes: object) -> GatewaySettings:
    return GatewaySettings(
        app_env="production", jwt_secret=None, jwt_public_key=KEY.public_pem, jwt_issuer=ISSUER,
        jwt_audience=AUDIENCE, subgraph_shared_secret=SUBGRAPH_SECRET,
    ).with_changes(**changes)


# --- refusing to start --------------------------------------------------------------------------------
def test_the_gateway_names_every_missing_or_development_setting() -> None:
    with pytest.raises(InsecureConfiguration) as refused:
        GatewaySettings.from_env({"APP_ENV": "production"})
    text = str(refused.value)
    for name in ("JWT_ISSUER", "JWT_AUDIENCE", "SUBGRAPH_SHARED_SECRET", "JWT_JWKS_URL"):
        assert name in text
    with pytest.raises(InsecureConfiguration, match="JWT_SECRET is the public development secret"):
        GatewaySettings.from_env({"APP_ENV": "production", "JWT_SECRET": DEV_JWT_SECRET})
    with pytest.raises(ValueError, match="APP_ENV must be development or production"):
        GatewaySettings.from_env({"APP_ENV": "staging"})
    with pytest.raises(InsecureConfiguration, match="SUBGRAPH_SHARED_SECRET"):
        create_gateway(gateway_production(subgraph_shared_secret=None))
    ok = GatewaySettings.from_env({
        "APP_ENV": "production", "JWT_JWKS_URL": "https://id.shop.test/jwks.json", "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE, "SUBGRAPH_SHARED_SECRET": SUBGRAPH_SECRET, "GATEWAY_INTROSPECTION": "true",
    })
    assert ok.production and ok.introspection and not ok.graphiql and ok.jwt_secret is None


def test_services_name_their_development_defaults(mongo: TestMongo, redis_url: str) -> None:
    if mongo.url is None:
        pytest.skip("production needs a real MONGODB_URL")
    env = production_env(mongo, redis_url, JWT_PUBLIC_KEY=KEY.public_pem)
    assert Settings.from_env("products", env=env).production
    with pytest.raises(InsecureConfiguration) as refused:
        Settings.from_env("notifications", env=env)
    assert "NOTIFICATIONS_WEBHOOK_SECRET" in str(refused.value)
    assert "NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE" in str(refused.value)
    for name in ("MONGODB_URL", "REDIS_URL", "SUBGRAPH_SHARED_SECRET", "JWT_ISSUER"):
        with pytest.raises(InsecureConfiguration, match=name):
            Settings.from_env("orders", env={k: v for k, v in env.items() if k != name})
    with pytest.raises(InsecureConfiguration, match="JWT_SECRET"):
        Settings.from_env("payments", env={**env, "JWT_SECRET": DEV_JWT_SECRET})
    with pytest.raises(InsecureConfiguration, match="PAYMENTS_PROVIDER_FAULTS"):
        Settings.from_env("payments", env={**env, "PAYMENTS_PROVIDER_FAULTS": "charge:timeout:1"})


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "gateway", "serve", "--supergraph", "supergraph.yaml"],
        ["-m", "subgraphs.products"],
        ["-m", "subgraphs.kit.worker_process", "subgraphs.orders.worker.WorkerSettings"],
        ["-m", "subgraphs.kit.worker_process", "subgraphs.notifications.worker.WorkerSettings"],
    ],
    ids=["gateway", "products", "orders-worker", "notifications-worker"],
)
def test_every_process_refuses_to_start(command: list[str]) -> None:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("JWT_", "SUBGRAPH_"))}
    env.update({"APP_ENV": "production", "JWT_SECRET": DEV_JWT_SECRET, "REDIS_URL": "redis://127.0.0.1:1/0"})
    done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode != 0
    assert b"JWT_SECRET is the public development secret" in done.stderr, done.stderr[-2000:]


# --- a production gateway and service --------------------------------------------------------------------
@pytest.fixture
async def production(redis_url: str, mongo: TestMongo) -> AsyncIterator[Running]:
    if mongo.url is None:
        pytest.skip("production needs a real MONGODB_URL")
    env = production_env(mongo, redis_url, JWT_PUBLIC_KEY=KEY.public_pem)
    async with products_and_gateway(env, gateway_production()) as running:
        yield running


async def post(url: str, body: Mapping[str, object], headers: dict[str, str] | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as client:
        return await client.post(url, json=body, headers=headers or {})


async def test_no_introspection_graphiql_or_suggestions(production: Running) -> None:
    answer = await post(production.gateway_url, {"query": "{ __schema { queryType { name } } }"})
    assert answer.status_code == 400
    assert "introspection is not allowed" in answer.json()["errors"][0]["message"]
    assert (await post(production.gateway_url, {"query": "{ __typename }"})).json() == {"data": {"__typename": "Query"}}

    typo = await post(production.gateway_url, TYPO)
    assert typo.status_code == 400
    assert "categorys" in typo.text and "Did you mean" not in typo.text
    direct = await post(production.products_url, TYPO, internal_headers())
    assert "categorys" in direct.text and "Did you mean" not in direct.text

    async with httpx.AsyncClient() as client:
        explorer = await client.get(production.gateway_url, headers={"accept": "text/html"})
        subgraph_explorer = await client.get(production.products_url, headers={"accept": "text/html",
                                                                                **internal_headers()})
    assert "<html" not in explorer.text.lower() and explorer.status_code >= 400
    assert "<html" not in subgraph_explorer.text.lower()


async def test_development_still_suggests_and_allows_introspection(production: Running) -> None:
    """The control: the same supergraph in development mode."""
    async with serve_asgi(create_gateway(GatewaySettings(supergraph_sdl=production.supergraph,
                                                         subgraph_shared_secret=SUBGRAPH_SECRET))) as base:
        typo = await post(f"{base}/graphql", TYPO)
        schema = await post(f"{base}/graphql", {"query": "{ __schema { queryType { name } } }"})
    assert "Did you mean" in typo.text
    assert schema.json() == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_tokens_of_the_public_dev_secret_are_refused(production: Running) -> None:
    admin = issue_token("mallory", ("orders:admin",), DEV_JWT_SECRET, iss=ISSUER, aud=AUDIENCE)
    answer = await post(production.gateway_url, {"query": "{ me { id } }"}, {"authorization": f"Bearer {admin}"})
    assert answer.status_code == 401
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    good = await post(production.gateway_url, {"query": "{ me { id } }"},
                      {"authorization": f"Bearer {KEY.token('ada')}"})
    assert good.json() == {"data": {"me": {"id": "ada"}}}


async def test_subgraph_transport_errors_are_redacted_and_logged_with_the_request_id(
    production: Running, caplog: pytest.LogCaptureFixture
) -> None:
    dead = f"http://127.0.0.1:{free_port()}/graphql"
    settings = gateway_production(supergraph_sdl=production.supergraph, subgraph_urls={"products": dead})
    async with serve_asgi(create_gateway(settings)) as base:
        answer = await post(f"{base}/graphql", {"query": "{ categories { slug } }"}, {"x-request-id": "req-42"})
        made = await post(f"{base}/graphql", {"query": "{ categories { slug } }"})
    assert answer.status_code == 200
    assert answer.headers["x-request-id"] == "req-42"
    error = answer.json()["errors"][0]
    assert error["message"] == "HTTP fetch failed from 'products'"
    assert error["extensions"] == {"code": "SUBREQUEST_HTTP_ERROR", "service": "products", "requestId": "req-42"}
    assert dead.split("/")[2] not in answer.text
    assert "req-42" in caplog.text and "cannot connect" in caplog.text
    made_id = made.headers["x-request-id"]
    assert len(made_id) == 32 and made.json()["errors"][0]["extensions"]["requestId"] == made_id

    async with serve_asgi(create_gateway(GatewaySettings(supergraph_sdl=production.supergraph,
                                                         subgraph_urls={"products": dead}))) as base:
        development = await post(f"{base}/graphql", {"query": "{ categories { slug } }"})
    assert "cannot connect" in development.json()["errors"][0]["message"]  # development keeps the detail
