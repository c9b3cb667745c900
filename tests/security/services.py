"""A products service and a gateway in front of it, served on loopback in the test's event loop,
plus key material for asymmetric tokens and a JWKS server whose keys a test can rotate."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from authn.internal import InternalSigner
from gateway.composition import compose
from gateway.composition.source import SubgraphSource
from gateway.config import Settings as GatewaySettings
from gateway.server import create_app as create_gateway
from subgraphs.kit.settings import Settings
from subgraphs.products.app import create_app as create_products
from subgraphs.products.config import ProductsConfig
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi

SUBGRAPH_SECRET = "s" * 24 + uuid.uuid4().hex  # 56 characters, fresh per run
ISSUER = "https://id.shop.test/"
AUDIENCE = "supershop"


def production_env(mongo: TestMongo, redis_url: str, **extra: str) -> dict[str, str]:
    """A complete production environment for the products service (tests pass the demo seed as config)."""
    assert mongo.url is not None, "production needs a real MONGODB_URL"
    return {
        "APP_ENV": "production",
        "REDIS_URL": redis_url,
        **mongo.env("products"),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "SUBGRAPH_SHARED_SECRET": SUBGRAPH_SECRET,
        **extra,
    }


def internal_headers(secret: str = SUBGRAPH_SECRET, sender: str = "gateway") -> dict[str, str]:
    return InternalSigner(secret, sender).headers()


@dataclass
class KeyPair:
    """A private key for signing tokens and its public half as PEM and as a JWK."""

    algorithm: str
    kid: str
    private: Any

    @classmethod
    def generate(cls, algorithm: str, kid: str | None = None) -> KeyPair:
        private: Any
        if algorithm == "RS256":
            private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif algorithm == "ES256":
            private = ec.generate_private_key(ec.SECP256R1())
        else:
            private = ed25519.Ed25519PrivateKey.generate()
        return cls(algorithm, kid or uuid.uuid4().hex[:8], private)

    @property
    def public_pem(self) -> str:
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    def jwk(self) -> dict[str, Any]:
        algorithm = jwt.get_algorithm_by_name(self.algorithm)
        entry: dict[str, Any] = algorithm.to_jwk(self.private.public_key(), as_dict=True)
        return {**entry, "kid": self.kid, "alg": self.algorithm, "use": "sig"}

    def token(self, subject: str, *scopes: str, kid: str | None = None, **claims: Any) -> str:
        now = int(time.time())
        payload = {"sub": subject, "scope": " ".join(scopes), "iat": now, "exp": now + 600,
                   "iss": ISSUER, "aud": AUDIENCE, **claims}
        return jwt.encode(payload, self.private, algorithm=self.algorithm, headers={"kid": kid or self.kid})


@dataclass
class JwksServer:
    """Serves `keys` as a JWKS document and counts the fetches."""

    keys: list[KeyPair] = field(default_factory=list)
    fetches: int = 0

    def app(self) -> Starlette:
        async def jwks(_: Request) -> JSONResponse:
            self.fetches += 1
            return JSONResponse({"keys": [key.jwk() for key in self.keys]})

        return Starlette(routes=[Route("/.well-known/jwks.json", jwks)])


@dataclass
class Running:
    products_url: str
    gateway_url: str
    supergraph: str


@asynccontextmanager
async def products_and_gateway(
    env: Mapping[str, str], gateway: GatewaySettings, *, seed: bool = True
) -> AsyncIterator[Running]:
    """The products service on `env` (kit settings read from it) and a gateway composed in front."""
    settings = Settings.from_env("products", env=dict(env))
    products = create_products(settings, ProductsConfig(cache_enabled=False, seed_demo=seed))
    async with serve_asgi(products) as products_base:
        products_url = f"{products_base}/graphql"
        secret = env.get("SUBGRAPH_SHARED_SECRET")
        async with httpx.AsyncClient() as client:
            answer = await client.post(products_url, json={"query": "{ _service { sdl } }"},
                                       headers=internal_headers(secret) if secret else {})
        supergraph = compose([SubgraphSource("products", products_url, answer.json()["data"]["_service"]["sdl"])])
        app = create_gateway(gateway.with_changes(supergraph_sdl=supergraph))
        async with serve_asgi(app) as gateway_base:
            yield Running(products_url, f"{gateway_base}/graphql", supergraph)

