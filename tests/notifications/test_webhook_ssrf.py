"""SSRF protection of webhooks: refused destinations at registration and delivery, DNS rebinding,
redirects, and connecting to the checked IP with the original Host / SNI / certificate name."""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpcore
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from subgraphs.kit.embedded_redis import free_port
from subgraphs.notifications.model import Channel
from subgraphs.notifications.transports.base import DeliveryError, OutgoingMessage
from subgraphs.notifications.transports.destinations import refusal
from subgraphs.notifications.transports.webhook import WebhookTransport
from tests.notifications.conftest import WebhookReceiver
from tests.notifications.support import order_created, running
from tests.support.mongo import TestMongo
from tests.support.servers import serve_asgi
from tests.support.tls import self_signed
from tests.support.tokens import bearer

DENY = {"NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE": "false"}
PUBLIC = "93.184.215.14"
UPDATE = """
mutation($input: UpdateNotificationPreferencesInput!) { updateNotificationPreferences(input: $input) { webhookUrl } }
"""

REFUSED = [
    "127.0.0.1", "127.8.9.10", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "169.254.10.10",
    "100.64.0.1", "100.127.255.254", "224.0.0.1", "239.1.2.3", "240.0.0.1", "255.255.255.255", "0.0.0.0",
    "0.1.2.3", "192.0.2.1", "198.18.0.1", "168.63.129.16", "100.100.100.200",
    "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "fd00:ec2::254", "ff02::1", "ff0e::1",
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:0.0.0.0", "::ffff:100.64.0.1",
    "::127.0.0.1", "2002:7f00:1::1", "2002:a9fe:a9fe::1", "64:ff9b::a9fe:a9fe", "64:ff9b::7f00:1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo carrying 127.0.0.1
    "2001:db8::1",
]
ALLOWED = [PUBLIC, "8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1"]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_are_allowed(address: str) -> None:
    assert refusal(ipaddress.ip_address(address)) is None


def message(url: str) -> OutgoingMessage:
    return OutgoingMessage(
        notification_id="ntf_1", channel=Channel.WEBHOOK, user_id="u1", recipient=url, template="order.paid/webhook",
        event_type="order.paid", event_id="e1", occurred_at="2026-01-01T00:00:00Z", order_id="o1", subject=None,
        text="paid",
    )


class Resolver:
    """A scripted DNS: each call gives the next answer (the last one repeats); counts the calls."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.calls: list[str] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append(host)
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@asynccontextmanager
async def transport(**kwargs: Any) -> AsyncIterator[WebhookTransport]:
    webhook = WebhookTransport("secret-secret-secret", 2, **kwargs)
    await webhook.start()
    try:
        yield webhook
    finally:
        await webhook.close()


# At registration: the mutation that sets the URL refuses it.

@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/hook", "http://localhost:{port}/hook", "http://[::1]:{port}/hook",
    "http://[::ffff:127.0.0.1]/hook", "http://169.254.169.254/latest/meta-data/", "http://[fd00:ec2::254]/",
    "http://[::ffff:a9fe:a9fe]/", "http://0.0.0.0:{port}/", "http://[::]/", "http://10.0.0.7/hook",
    "http://2130706433:{port}/hook", "https://100.64.1.1/",
])
async def test_saving_a_non_public_webhook_url_is_bad_user_input(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver, url: str
) -> None:
    port = webhook.url.rsplit(":", 1)[1].split("/")[0]
    async with running(redis_url, mongo, tmp_path, **DENY) as svc:
        result = await svc.graphql(UPDATE, {"input": {"webhookUrl": url.format(port=port)}}, bearer("u1"))
    assert result["data"] is None
    [error] = result["errors"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT", "field": "webhookUrl"}
    assert "refused" in error["message"]
    assert webhook.requests == []


async def test_saving_public_urls_and_private_ones_when_allowed(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    async with running(redis_url, mongo, tmp_path, **DENY) as svc:
        result = await svc.graphql(UPDATE, {"input": {"webhookUrl": f"https://{PUBLIC}/hook"}}, bearer("u1"))
        assert result["data"]["updateNotificationPreferences"]["webhookUrl"] == f"https://{PUBLIC}/hook"
    async with running(redis_url, mongo, tmp_path, NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE="true") as svc:
        result = await svc.graphql(UPDATE, {"input": {"webhookUrl": webhook.url}}, bearer("u2"))
        assert result["data"]["updateNotificationPreferences"]["webhookUrl"] == webhook.url


# At delivery: a URL stored earlier (or whose DNS changed since) is checked again before connecting.

async def test_a_loopback_webhook_gets_no_request_and_the_delivery_fails_with_the_reason(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    async with running(redis_url, mongo, tmp_path, **DENY) as svc:
        await svc.store.update_preferences("u1", {"webhook_url": webhook.url}, [], {})
        event = await svc.publish(order_created())
        documents = await svc.wait_settled(event, 2)
    [document] = [d for d in documents if d["channel"] == "WEBHOOK"]
    assert document["status"] == "FAILED"
    [attempt] = document["attempts"]
    assert attempt["outcome"] == "FAILED"
    assert "127.0.0.1" in attempt["error"] and "loopback" in attempt["error"] and "refused" in attempt["error"]
    assert webhook.requests == []


async def test_the_same_webhook_is_delivered_when_private_networks_are_allowed(
    redis_url: str, mongo: TestMongo, tmp_path: Path, webhook: WebhookReceiver
) -> None:
    async with running(redis_url, mongo, tmp_path, NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE="true") as svc:
        await svc.store.update_preferences("u1", {"webhook_url": webhook.url}, [], {})
        event = await svc.publish(order_created())
        documents = await svc.wait_settled(event, 2)
    [document] = [d for d in documents if d["channel"] == "WEBHOOK"]
    assert document["status"] == "SENT", document
    assert len(webhook.requests) == 1


async def test_a_hostname_resolving_to_loopback_is_refused(webhook: WebhookReceiver) -> None:
    port = webhook.url.rsplit(":", 1)[1].split("/")[0]
    async with transport() as plain:  # the system resolver: localhost is 127.0.0.1 / ::1
        with pytest.raises(DeliveryError) as refused:
            await plain.send(message(f"http://localhost:{port}/hook"))
    assert not refused.value.transient and "refused" in str(refused.value)
    resolver = Resolver([PUBLIC, "127.0.0.1"])  # one bad answer among good ones is enough to refuse
    async with transport(resolver=resolver) as scripted:
        with pytest.raises(DeliveryError, match=r"resolves to 127\.0\.0\.1, a loopback address"):
            await scripted.send(message(f"http://hooks.example.test:{port}/hook"))
    assert webhook.requests == []


@dataclass
class Connections:
    """Records where the HTTP client connects; connections to `PUBLIC` are redirected to a local port
    so the test needs no network (and shows the request went to the checked address)."""

    local_port: int
    targets: list[tuple[str, int]] = field(default_factory=list)


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch, webhook: WebhookReceiver) -> Connections:
    recorded = Connections(local_port=int(webhook.url.rsplit(":", 1)[1].split("/")[0]))
    original = httpcore.AnyIOBackend.connect_tcp

    async def connect_tcp(self: httpcore.AnyIOBackend, host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        recorded.targets.append((host, port))
        if host == PUBLIC:
            host, port = "127.0.0.1", recorded.local_port
        return await original(self, host, port, *args, **kwargs)

    monkeypatch.setattr(httpcore.AnyIOBackend, "connect_tcp", connect_tcp)
    return recorded


async def test_dns_rebinding_cannot_reach_loopback(webhook: WebhookReceiver, connections: Connections) -> None:
    resolver = Resolver([PUBLIC], ["127.0.0.1"])  # public when checked, loopback on any later lookup
    async with transport(resolver=resolver) as rebinding:
        assert await rebinding.send(message("http://rebind.example.test:8080/hook")) == "HTTP 200"
    assert resolver.calls == ["rebind.example.test"]  # resolved once: the client does not look it up again
    assert connections.targets == [(PUBLIC, 8080)]  # connected to the checked address, never 127.0.0.1
    [(headers, _)] = webhook.requests
    assert headers["host"] == "rebind.example.test:8080"


async def test_an_international_host_name_is_sent_in_its_ascii_form(
    webhook: WebhookReceiver, connections: Connections
) -> None:
    resolver = Resolver([PUBLIC])
    async with transport(resolver=resolver) as plain:
        assert await plain.send(message("http://bücher.example.test:8080/hook")) == "HTTP 200"
    assert resolver.calls == ["xn--bcher-kva.example.test"]
    assert connections.targets == [(PUBLIC, 8080)]
    [(headers, _)] = webhook.requests
    assert headers["host"] == "xn--bcher-kva.example.test:8080"


async def test_a_redirect_is_not_followed(webhook: WebhookReceiver) -> None:
    async def redirect(request: Request) -> Response:
        return Response(status_code=302, headers={"Location": webhook.url})

    async with serve_asgi(Starlette(routes=[Route("/hook", redirect, methods=["POST"])])) as base, \
            transport(allow_private_networks=True) as allowed:
        with pytest.raises(DeliveryError) as failed:
            await allowed.send(message(f"{base}/hook"))
    assert not failed.value.transient
    assert "HTTP 302" in str(failed.value) and "not followed" in str(failed.value)
    assert webhook.requests == []


# https: the connection goes to the IP, TLS names the original host (SNI) and verifies its certificate.

@dataclass
class TlsReceiver:
    port: int
    server_names: list[str | None] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def tls_receiver(cert: Path, key: Path) -> AsyncIterator[TlsReceiver]:
    """A minimal HTTPS server that records the SNI name and each request head, answering 200."""
    receiver = TlsReceiver(port=free_port())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _sock, name, _ctx: receiver.server_names.append(name)  # type: ignore[assignment,misc]

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                           if line.lower().startswith(b"content-length:")), 0)
            await reader.readexactly(length)
            receiver.requests.append(head)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", receiver.port, ssl=context)
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()


async def test_https_connects_to_the_ip_with_sni_and_verification_for_the_hostname(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "hooks.example.test")
    trust = ssl.create_default_context(cafile=str(cert))
    resolver = Resolver(["127.0.0.1"])
    async with tls_receiver(cert, key) as receiver, \
            transport(allow_private_networks=True, resolver=resolver, verify=trust) as secure:
        assert await secure.send(message(f"https://hooks.example.test:{receiver.port}/hook")) == "HTTP 200"
        assert receiver.server_names == ["hooks.example.test"]
        [head] = receiver.requests
        assert f"host: hooks.example.test:{receiver.port}".encode() in head.lower()

        # The same server reached under another name: its certificate does not match, nothing is sent.
        with pytest.raises(DeliveryError, match="certificate verify failed"):
            await secure.send(message(f"https://other.example.test:{receiver.port}/hook"))
        assert len(receiver.requests) == 1
    assert resolver.calls == ["hooks.example.test", "other.example.test"]
