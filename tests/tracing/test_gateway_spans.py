"""The gateway's own span path (gateway/tracing.py), in a real gateway process exporting over OTLP:
a sampled request is a SERVER span continuing the client's context with a CLIENT span per fetch, and
the subgraph receives that fetch's context; an unsampled one exports nothing and still hands the
subgraph the trace id and the unsampled flag, so the next hop skips it too."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator

import httpx
import pytest

from subgraphs.kit.embedded_redis import free_port
from tests.differential.gateways import GatewayProcess
from tests.gateway.core import shop
from tests.gateway.core.harness import RunningServer, recording
from tests.support.servers import wait_for
from tests.tracing.otlp_receiver import OtlpReceiver, Span

SERVER, CLIENT = 2, 3  # OTLP span kinds
SAMPLED_TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
UNSAMPLED_TRACE = "0af7651916cd43dd8448eb211c80319c"
CLIENT_SPAN = "00f067aa0ba902b7"
Traced = tuple[str, OtlpReceiver, list[dict[str, str]]]  # the gateway's URL, the receiver, the headers upstream saw


@pytest.fixture(scope="module")
def traced_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Traced]:
    seen: list[dict[str, str]] = []
    accounts = RunningServer(recording(shop.accounts(), seen)).start()
    receiver = OtlpReceiver().start()
    supergraph = tmp_path_factory.mktemp("traced") / "supergraph.graphql"
    supergraph.write_text(re.sub(r'url: "http://accounts/graphql"', f'url: "{accounts.url}/graphql"', shop.SUPERGRAPH))
    port = free_port()
    env = {**os.environ, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{receiver.endpoint}/v1/traces",
           "OTEL_BSP_SCHEDULE_DELAY": "50", "OTEL_TRACES_SAMPLER": "parentbased_always_on",
           "GATEWAY_METRICS": "0", "RATE_LIMIT_ENABLED": "0"}
    command = [sys.executable, "-m", "gateway", "serve", "--supergraph", str(supergraph), "--host", "127.0.0.1",
               "--port", str(port)]
    gateway = GatewayProcess("traced gateway", command, port, supergraph.with_suffix(".log"), env)
    try:
        gateway.start()
        yield f"http://127.0.0.1:{port}", receiver, seen
    finally:
        gateway.stop()
        receiver.stop()
        accounts.stop()


async def _ask(base: str, traceparent: str) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(f"{base}/graphql", json={"query": "query Me { me { id } }"},
                                     headers={"traceparent": traceparent})
    assert response.status_code == 200 and response.json()["data"]["me"]["id"], response.text


async def _spans_of(receiver: OtlpReceiver, trace_id: str, count: int) -> list[Span]:
    async def exported() -> bool:
        return len([s for s in receiver.snapshot() if s.trace_id == trace_id]) >= count

    await wait_for(exported, timeout=20, interval=0.05, message=f"{count} spans of trace {trace_id}")
    return [s for s in receiver.snapshot() if s.trace_id == trace_id]


async def test_a_sampled_request_is_a_server_span_with_a_client_span_per_fetch(
    traced_gateway: Traced,
) -> None:
    base, receiver, seen = traced_gateway
    seen.clear()
    await _ask(base, f"00-{SAMPLED_TRACE}-{CLIENT_SPAN}-01")
    spans = await _spans_of(receiver, SAMPLED_TRACE, 2)
    server = next(s for s in spans if s.kind == SERVER)
    fetch = next(s for s in spans if s.kind == CLIENT)
    assert server.name == "query Me" and server.parent_span_id == CLIENT_SPAN
    assert ("graphql.operation.name", "Me") in server.attributes
    assert ("http.response.status_code", "200") in server.attributes
    assert fetch.name == "POST accounts" and fetch.parent_span_id == server.span_id
    assert ("http.response.status_code", "200") in fetch.attributes
    assert seen[-1]["traceparent"] == f"00-{SAMPLED_TRACE}-{fetch.span_id}-01"


async def test_an_unsampled_request_exports_nothing_and_passes_the_decision_on(
    traced_gateway: Traced,
) -> None:
    base, receiver, seen = traced_gateway
    seen.clear()
    await _ask(base, f"00-{UNSAMPLED_TRACE}-{CLIENT_SPAN}-00")
    forwarded = seen[-1]["traceparent"]
    version, trace_id, parent, flags = forwarded.split("-")
    assert (version, trace_id, flags) == ("00", UNSAMPLED_TRACE, "00") and parent != "0" * 16
    # Spans leave in order: once a later sampled request's spans are in, the unsampled one had its chance.
    later = "5bf92f3577b34da6a3ce929d0e0e4736"
    await _ask(base, f"00-{later}-{CLIENT_SPAN}-01")
    await _spans_of(receiver, later, 2)
    assert not [s for s in receiver.snapshot() if s.trace_id == UNSAMPLED_TRACE]
