"""A TCP proxy on loopback that can be cut: every open connection is dropped and new ones are closed at
once, until it is restored. It runs its own event loop in a thread, so it works from sync and async tests
alike (e.g. between one service process and Redis: that process alone loses Redis)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from subgraphs.kit.embedded_redis import free_port


class CuttableProxy:
    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self.cut_connections = 0  # connections dropped by a cut or refused while cut
        self._cut = False
        self._writers: set[asyncio.StreamWriter] = set()
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.Server | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, name="cuttable-proxy", daemon=True)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> CuttableProxy:
        self._thread.start()
        self._server = self._call(asyncio.start_server(self._serve, "127.0.0.1", self.port))
        return self

    def cut(self) -> None:
        async def drop() -> None:
            self._cut = True
            self.cut_connections += sum(1 for writer in self._writers if not writer.is_closing()) // 2
            for writer in list(self._writers):
                self._close(writer)
        self._call(drop())

    def restore(self) -> None:
        async def restore() -> None:
            self._cut = False
        self._call(restore())

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()
            for writer in list(self._writers):
                self._close(writer)
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()
        self._call(close())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)

    def _call(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    def _close(self, writer: asyncio.StreamWriter) -> None:
        self._writers.discard(writer)
        if not writer.is_closing():
            writer.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._cut:
            self.cut_connections += 1
            writer.close()
            return
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, upstream_writer))
        await asyncio.gather(self._pipe(reader, upstream_writer), self._pipe(upstream_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        self._close(writer)
