"""The app factory over real HTTP: GraphQL with the viewer in context, /health, /ready, request ids."""

from __future__ import annotations

import httpx
import strawberry

from subgraphs.kit.app import create_service_app
from subgraphs.kit.context import RequestContext
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.schema import federation_schema
from subgraphs.kit.settings import Settings
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi
from tests.support.tokens import bearer


@strawberry.federation.type(keys=["id"])
class Thing:
    id: strawberry.ID


@strawberry.type
class Query:
    @strawberry.field
    def thing(self) -> Thing:
        return Thing(id=strawberry.ID("t1"))

    @strawberry.field
    def whoami(self, info: strawberry.Info[RequestContext, None]) -> str:
        return info.context.require_viewer().user_id

    @strawberry.field
    def boom(self) -> str:
        raise RuntimeError("secret internals")


def make_app(redis_url: str, mongo: TestMongo) -> tuple[ServiceRuntime, object]:
    settings = Settings.from_env("kittest", env={"REDIS_URL": redis_url, **mongo.env("kittest")})
    runtime = ServiceRuntime(settings)
    return runtime, create_service_app(runtime, federation_schema(query=Query))


async def test_service_app_serves_graphql_health_and_ready(redis_url: str, mongo: TestMongo) -> None:
    _, app = make_app(redis_url, mongo)
    async with serve_asgi(app) as base, httpx.AsyncClient(base_url=base) as client:
        assert (await client.get("/health")).json()["status"] == "ok"
        ready = await client.get("/ready")
        assert ready.status_code == 200 and ready.json() == {"status": "ready", "mongo": True, "redis": True}

        anonymous = (await client.post("/graphql", json={"query": "{ whoami }"})).json()
        assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

        signed = await client.post("/graphql", json={"query": "{ whoami }"}, headers=bearer("u42"))
        assert signed.json() == {"data": {"whoami": "u42"}}
        assert signed.headers["x-request-id"]

        masked = (await client.post("/graphql", json={"query": "{ boom }"})).json()
        assert masked["errors"][0]["message"] == "Internal server error"
        assert "secret internals" not in str(masked)

        for body in (b"", b"not json", b"\xff\xfe bad utf-8", b"123", b'"text"', b"null", b"[]"):
            refused = await client.post("/graphql", content=body, headers={"content-type": "application/json"})
            assert refused.status_code == 400, (body, refused.status_code, refused.text)
        bad_variables = await client.get("/graphql", params={"query": "{ whoami }", "variables": "[1]"})
        assert bad_variables.status_code == 400

        sdl = (await client.post("/graphql", json={"query": "{ _service { sdl } }"})).json()
        assert '@link(url: "https://specs.apollo.dev/federation/v2' in sdl["data"]["_service"]["sdl"]
        assert 'type Thing @key(fields: "id")' in sdl["data"]["_service"]["sdl"]
