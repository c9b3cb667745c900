"""The gateway's ASGI app while it composes its supergraph at start-up (`serve --config`).

The server listens at once: `/health` answers 200 (the process is alive), `/ready` 503 with what it
waits for, anything else 503. Once composition succeeds the real app (gateway.server.create_app) is
built and started, and every request goes to it. If composition gives up, `on_give_up` is called
(`serve` stops the server and exits non-zero).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import orjson

from .compose_retry import ComposeProgress, ComposeRetry, CompositionGaveUp, compose_until_ready
from .config import Settings
from .server import Message, Receive, Scope, Send, create_app

log = logging.getLogger("gateway.startup")


class ComposingApp:
    """Serves health and readiness while composing, then delegates to the composed gateway."""

    def __init__(
        self,
        config_path: str,
        settings: Settings,
        retry: ComposeRetry,
        on_give_up: Callable[[], None],
        app_factory: Callable[[Settings], Any] = create_app,
    ) -> None:
        self.config_path = config_path
        self.settings = settings
        self.retry = retry
        self.on_give_up = on_give_up
        self.app_factory = app_factory
        self.progress = ComposeProgress()
        self.inner: Any = None
        self._task: asyncio.Task[None] | None = None
        self._inner_lifespan: _Lifespan | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(receive, send)
        elif self.inner is not None:
            await self.inner(scope, receive, send)
        elif kind == "http":
            await self._waiting(scope, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1013})  # try again later

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._task = asyncio.create_task(self._compose_and_start())
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if self._task is not None and not self._task.done():
                    self._task.cancel()
                    await asyncio.gather(self._task, return_exceptions=True)
                if self._inner_lifespan is not None:
                    await self._inner_lifespan.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _compose_and_start(self) -> None:
        try:
            sdl = await compose_until_ready(self.config_path, self.retry, self.progress)
            app = self.app_factory(self.settings.with_changes(supergraph_sdl=sdl))
            lifespan = _Lifespan(app)
            await lifespan.startup()
        except asyncio.CancelledError:
            raise
        except CompositionGaveUp:
            self.on_give_up()
            return
        except Exception:  # a supergraph the gateway cannot serve, or its start-up failed
            log.exception("the composed supergraph could not be served")
            self.on_give_up()
            return
        self._inner_lifespan = lifespan
        self.inner = app
        log.warning("gateway ready: supergraph composed from %s", self.config_path)

    async def _waiting(self, scope: Scope, send: Send) -> None:
        path = scope["path"]
        if path == "/health":
            await _json(send, 200, {"status": "ok", "composed": False})
        elif path == "/ready":
            await _json(send, 503, {"status": "composing", "attempts": self.progress.attempts,
                                    "waitingFor": list(self.progress.waiting_for)})
        else:
            waiting = ", ".join(self.progress.waiting_for) or "its subgraphs"
            error = {"message": f"the gateway is composing its supergraph (waiting for {waiting})",
                     "extensions": {"code": "SERVICE_UNAVAILABLE"}}
            await _json(send, 503, {"errors": [error]}, {"retry-after": "1"})


class _Lifespan:
    """Drives an inner ASGI app's lifespan protocol (the server drives only the outer app's)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None

    async def _send(self, message: Message) -> None:
        await self._outbox.put(message)

    async def startup(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": {}}
        self._task = asyncio.create_task(self.app(scope, self._inbox.get, self._send))
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._reply()
        if reply["type"] != "lifespan.startup.complete":
            raise RuntimeError(f"gateway start-up failed: {reply.get('message', reply['type'])}")

    async def shutdown(self) -> None:
        if self._task is None or self._task.done():
            return
        await self._inbox.put({"type": "lifespan.shutdown"})
        await self._reply()
        await self._task

    async def _reply(self) -> Message:
        assert self._task is not None
        getter = asyncio.ensure_future(self._outbox.get())
        await asyncio.wait({getter, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if getter.done():
            return getter.result()
        getter.cancel()
        self._task.result()  # the app raised: re-raise
        raise RuntimeError("the gateway's lifespan ended without replying")


async def _json(send: Send, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json; charset=utf-8"), (b"content-length", str(len(body)).encode())]
    headers += [(name.encode(), value.encode()) for name, value in (extra or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
