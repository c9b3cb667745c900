"""Fixtures: a real SMTP server (aiosmtpd) and a webhook receiver (Starlette) on loopback ports."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from subgraphs.kit.embedded_redis import free_port
from tests.support.servers import serve_asgi


@dataclass
class Mailbox:
    """An aiosmtpd handler: answers DATA with the scripted replies first, then accepts and keeps."""

    replies: list[str] = field(default_factory=list)
    messages: list[EmailMessage] = field(default_factory=list)
    recipients: list[list[str]] = field(default_factory=list)
    data_commands: int = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.data_commands += 1
        if self.replies:
            return self.replies.pop(0)
        message = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    url: str
    mailbox: Mailbox


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield SmtpServer(url=f"smtp://127.0.0.1:{port}", mailbox=mailbox)
    finally:
        controller.stop()


@dataclass
class WebhookReceiver:
    """Records every request; with a `secret` it refuses bad signatures with 401 as a real receiver
    would; otherwise answers with the scripted statuses first, then 200."""

    url: str = ""
    secret: str | None = None
    statuses: list[int] = field(default_factory=list)
    requests: list[tuple[dict[str, str], bytes]] = field(default_factory=list)

    async def endpoint(self, request: Request) -> Response:
        headers, body = dict(request.headers), await request.body()
        self.requests.append((headers, body))
        if self.secret is not None and not signature_is_valid(self.secret, headers, body):
            return Response(b'{"error": "bad signature"}', status_code=401, media_type="application/json")
        status = self.statuses.pop(0) if self.statuses else 200
        return Response(b"{}", status_code=status, media_type="application/json")


@pytest.fixture
async def webhook() -> AsyncIterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    app = Starlette(routes=[Route("/hook", receiver.endpoint, methods=["POST"])])
    async with serve_asgi(app) as base:
        receiver.url = f"{base}/hook"
        yield receiver


def signature_is_valid(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Verified the way a receiver would, independently of the service's own helper."""
    fields = dict(part.split("=", 1) for part in headers["x-signature"].split(","))
    expected = hmac.new(secret.encode(), fields["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, fields["v1"])
