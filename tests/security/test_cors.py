"""CORS at the gateway, against real gateway servers: allow-list, preflights, credentials, defaults."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from gateway.config import Settings
from gateway.cors import Cors
from gateway.ratelimit import RateRule

from .support import PRODUCTION, PRODUCTION_ENV, QUERY, Store, gateways, post, store

STOREFRONT = "https://shop.example.com"


@pytest.fixture(scope="module")
def shop() -> Iterator[Store]:
    with store() as running:
        yield running


def preflight(url: str, origin: str, method: str = "POST", headers: str = "content-type") -> httpx.Response:
    return httpx.options(
        url + "/graphql",
        headers={"origin": origin, "access-control-request-method": method, "access-control-request-headers": headers},
        timeout=10,
    )


def test_development_allows_localhost_origins_on_any_port(shop: Store) -> None:
    with gateways(shop) as (gw,):
        response = post(gw.url, headers={"origin": "http://localhost:5173"})
        assert response.status_code == 200 and "Kettle" in response.text
        assert response.headers["access-control-allow-origin"] == "http://localhost:5173"
        assert response.headers["vary"] == "Origin"
        assert response.headers["access-control-expose-headers"] == "retry-after, x-request-id"
        assert "access-control-allow-credentials" not in response.headers

        answer = preflight(gw.url, "http://127.0.0.1:3000", headers="authorization, content-type")
        assert answer.status_code == 204
        assert answer.headers["access-control-allow-origin"] == "http://127.0.0.1:3000"
        assert answer.headers["access-control-allow-methods"] == "GET, POST, OPTIONS"
        allowed = {h.strip() for h in answer.headers["access-control-allow-headers"].split(",")}
        assert {"authorization", "content-type", "apollo-require-preflight", "x-apollo-operation-name"} <= allowed
        assert answer.headers["access-control-max-age"] == "600"
        assert answer.headers["vary"] == "Origin"


def test_a_disallowed_origin_gets_no_cors_headers_and_its_preflight_a_403(shop: Store) -> None:
    with gateways(shop) as (gw,):
        response = post(gw.url, headers={"origin": "https://evil.example"})
        assert response.status_code == 200  # the browser, not the server, withholds the response
        assert "access-control-allow-origin" not in response.headers
        # a look-alike of localhost is not localhost
        assert (
            "access-control-allow-origin"
            not in post(gw.url, headers={"origin": "http://localhost.evil.example"}).headers
        )

        refused = preflight(gw.url, "https://evil.example")
        assert refused.status_code == 403
        assert "access-control-allow-origin" not in refused.headers
        assert refused.json()["errors"][0]["extensions"]["code"] == "CORS_FORBIDDEN"


def test_production_is_closed_unless_configured(shop: Store) -> None:
    with gateways(shop, **PRODUCTION) as (gw,):
        assert "access-control-allow-origin" not in post(gw.url, headers={"origin": "http://localhost:5173"}).headers
        assert preflight(gw.url, "http://localhost:5173").status_code == 403


def test_configured_origins_and_regex_with_credentials(shop: Store) -> None:
    settings = {
        **PRODUCTION,
        "cors_allow_origins": (STOREFRONT,),
        "cors_allow_origin_regex": r"^https://[a-z0-9-]+\.preview\.example\.com$",
        "cors_allow_credentials": True,
        "cors_max_age": 120,
    }
    with gateways(shop, **settings) as (gw,):
        for origin in (STOREFRONT, "https://pr-42.preview.example.com"):
            response = post(gw.url, headers={"origin": origin, "authorization": "Bearer x"})
            assert response.headers["access-control-allow-origin"] == origin  # never * with credentials
            assert response.headers["access-control-allow-credentials"] == "true"
            answer = preflight(gw.url, origin)
            assert answer.status_code == 204 and answer.headers["access-control-max-age"] == "120"
            assert answer.headers["access-control-allow-credentials"] == "true"
        assert "access-control-allow-origin" not in post(gw.url, headers={"origin": "http://localhost:5173"}).headers
        assert preflight(gw.url, "https://preview.example.com").status_code == 403


def test_a_wildcard_is_star_without_credentials_and_the_origin_with_them() -> None:
    anyone = Cors(("*",))
    assert anyone.allows("https://anything.example")
    assert anyone._allow_origin("https://a.example")[0] == (b"access-control-allow-origin", b"*")
    with_credentials = Cors(("*",), allow_credentials=True)
    assert with_credentials._allow_origin("https://a.example")[0] == (
        b"access-control-allow-origin",
        b"https://a.example",
    )


def test_options_without_a_preflight_is_still_a_405_and_requests_without_origin_are_untouched(shop: Store) -> None:
    with gateways(shop) as (gw,):
        plain = httpx.options(gw.url + "/graphql", timeout=10)
        assert plain.status_code == 405 and plain.headers["allow"] == "GET, POST"
        response = post(gw.url)
        assert not any(name.startswith("access-control-") for name in response.headers)
        assert "vary" not in response.headers


def test_sse_streams_and_rate_limit_refusals_carry_cors_headers(shop: Store) -> None:
    origin = "http://localhost:8080"
    settings = {"rate_limit_enabled": True, "rate_limit_general": RateRule("general", 1, 60.0)}
    with gateways(shop, **settings) as (gw,):
        stream = httpx.post(
            gw.url + "/graphql",
            json={"query": QUERY},
            headers={"origin": origin, "accept": "text/event-stream"},
            timeout=10,
        )
        assert stream.headers["content-type"].startswith("text/event-stream")
        assert "Kettle" in stream.text, stream.text
        assert stream.headers["access-control-allow-origin"] == origin
        refused = post(gw.url, headers={"origin": origin})
        assert refused.status_code == 429, refused.text
        # the storefront may read Retry-After: it is exposed
        assert refused.headers["access-control-allow-origin"] == origin
        assert "retry-after" in refused.headers["access-control-expose-headers"]


def test_cors_settings_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "CORS_ALLOW_ORIGINS": "https://a.example, https://b.example",
            "CORS_ALLOW_ORIGIN_REGEX": r"^https://.*\.a\.example$",
            "CORS_ALLOW_CREDENTIALS": "true",
            "CORS_MAX_AGE": "30",
            **PRODUCTION_ENV,
        }
    )
    cors = Cors.from_settings(settings)
    assert cors.allows("https://b.example") and cors.allows("https://x.a.example")
    assert not cors.allows("http://localhost:3000")
    assert cors.credentials and cors.max_age == 30
    with pytest.raises(ValueError, match="APP_ENV"):
        Settings.from_env({"APP_ENV": "staging"})
