"""A lean Redis client for the gateway's per-request calls (cache, rate limits, persisted queries).

redis-py's asyncio client costs 75-105 µs of CPU per command on this path: each concurrent caller
checks a connection out of a pool, frames and parses in Python, and wraps every read in an asyncio
timeout. Here every caller shares one connection: a call writes its commands in one `write` and waits
for as many replies, which Redis sends back in order, parsed by hiredis. That is about 9 µs per command,
and concurrent requests pipeline on the socket by themselves.

Failures: a call raises :class:`RedisUnavailable` when the connection cannot be made, is lost, or
leaves its oldest call unanswered past `timeout` (then every waiting call fails and the connection is
dropped; the next call connects afresh). An error reply raises :class:`RedisReplyError` for that call
only, once all of its replies are read, so the connection stays in step.

URLs: `redis://[[user]:password@]host[:port][/db]`, `rediss://` (TLS) and `unix:///path?db=N`.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from collections.abc import Sequence
from typing import Any, cast

import hiredis
from redis.asyncio.connection import SSLConnection, parse_url

Arg = bytes | str | int | float
Command = Sequence[Arg]


class RedisUnavailable(ConnectionError):
    """No connection, a lost one, or no answer in time."""


class RedisReplyError(Exception):
    """Redis answered a command with an error (the message is Redis's)."""


def encode(commands: Sequence[Command]) -> bytes:
    """The RESP request of `commands`, in one buffer."""
    out: list[bytes] = []
    for command in commands:
        out.append(b"*%d\r\n" % len(command))
        for arg in command:
            if isinstance(arg, bytes):
                data = arg
            elif isinstance(arg, str):
                data = arg.encode()
            else:
                data = str(arg).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(data), data))
    return b"".join(out)


class _Waiting:
    __slots__ = ("deadline", "expected", "future", "replies")

    def __init__(self, future: asyncio.Future[list[Any]], expected: int, deadline: float) -> None:
        self.future = future
        self.expected = expected
        self.deadline = deadline
        self.replies: list[Any] = []


class _Connection(asyncio.Protocol):
    """One socket; calls answered first in, first out."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.loop = asyncio.get_running_loop()
        self.reader = hiredis.Reader()
        self.waiting: deque[_Waiting] = deque()
        self.transport: asyncio.Transport | None = None
        self.broken: RedisUnavailable | None = None
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no asyncio.Transport subclass

    def connection_lost(self, exc: Exception | None) -> None:
        reason = f"the connection to Redis was lost: {exc}" if exc else "Redis closed the connection"
        self._fail(RedisUnavailable(reason))

    def data_received(self, data: bytes) -> None:
        reader = self.reader
        reader.feed(data)
        waiting = self.waiting
        while True:
            try:
                reply = reader.gets()
            except hiredis.ProtocolError as exc:
                self._fail(RedisUnavailable(f"Redis sent a malformed reply: {exc}"))
                return
            if reply is False:
                return
            if not waiting:
                self._fail(RedisUnavailable("Redis sent a reply nobody asked for"))
                return
            head = waiting[0]
            head.replies.append(reply)
            if len(head.replies) == head.expected:
                waiting.popleft()
                if not head.future.done():  # a caller that was cancelled still has its replies read
                    head.future.set_result(head.replies)

    def call(self, payload: bytes, expected: int) -> asyncio.Future[list[Any]]:
        if self.broken is not None or self.transport is None:
            raise self.broken or RedisUnavailable("not connected to Redis")
        future: asyncio.Future[list[Any]] = self.loop.create_future()
        self.waiting.append(_Waiting(future, expected, self.loop.time() + self.timeout))
        self.transport.write(payload)
        if self._timer is None:
            self._timer = self.loop.call_later(self.timeout, self._check)
        return future

    def _check(self) -> None:
        """One timer per connection: the oldest call is the one that would be late first."""
        self._timer = None
        if not self.waiting:
            return
        left = self.waiting[0].deadline - self.loop.time()
        if left <= 0:
            self._fail(RedisUnavailable(f"Redis gave no answer within {self.timeout:g}s"))
        else:
            self._timer = self.loop.call_later(left, self._check)

    def _fail(self, error: RedisUnavailable) -> None:
        if self.broken is None:
            self.broken = error
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        while self.waiting:
            future = self.waiting.popleft().future
            if not future.done():
                future.set_exception(error)
        if self.transport is not None:
            self.transport.abort()

    def close(self) -> None:
        self._fail(RedisUnavailable("the client is closed"))


class RedisClient:
    """`await client.execute(("GET", key), ("HMGET", key2, f1))` -> the replies, in order."""

    def __init__(self, url: str, timeout: float = 1.0) -> None:
        options = parse_url(url)
        self.timeout = timeout
        self._path: str | None = options.get("path")
        self._host = str(options.get("host") or "localhost")
        self._port = int(options.get("port") or 6379)
        self._tls = options.get("connection_class") is SSLConnection
        handshake: list[Command] = []
        password = options.get("password")
        if password:
            username = options.get("username")
            handshake.append(("AUTH", username, password) if username else ("AUTH", password))
        if int(options.get("db") or 0):
            handshake.append(("SELECT", int(options["db"])))
        self._handshake = handshake
        self._connection: _Connection | None = None
        self._connecting: asyncio.Task[_Connection] | None = None
        self._closed = False

    async def execute(self, *commands: Command) -> list[Any]:
        """Send `commands` at once; their replies. Raises RedisReplyError for an error reply."""
        connection = self._connection
        if connection is None or connection.broken is not None:
            connection = await self._connect()
        replies = await connection.call(encode(commands), len(commands))
        _raise_error_reply(replies, RedisReplyError)
        return replies

    async def transaction(self, *commands: Command) -> list[Any]:
        """MULTI, `commands`, EXEC: the replies of `commands`, applied at once."""
        replies = await self.execute(("MULTI",), *commands, ("EXEC",))
        applied = replies[-1]
        if not isinstance(applied, list):
            raise RedisReplyError("the transaction was not applied")
        _raise_error_reply(applied, RedisReplyError)
        return applied

    async def _connect(self) -> _Connection:
        if self._closed:
            raise RedisUnavailable("the client is closed")
        task = self._connecting
        if task is None or task.done():  # one connection attempt for every caller waiting on it
            task = self._connecting = asyncio.ensure_future(self._open())
            task.add_done_callback(_retrieve)  # its failure is each waiter's, or nobody's if all left
        try:
            return await asyncio.shield(task)
        finally:
            if task.done() and self._connecting is task:
                self._connecting = None

    async def _open(self) -> _Connection:
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(self.timeout):
                if self._path is not None:
                    _, connection = await loop.create_unix_connection(lambda: _Connection(self.timeout), self._path)
                else:
                    context = ssl.create_default_context() if self._tls else None
                    _, connection = await loop.create_connection(
                        lambda: _Connection(self.timeout), self._host, self._port, ssl=context)
        except (OSError, TimeoutError) as exc:
            raise RedisUnavailable(f"cannot connect to Redis: {exc or type(exc).__name__}") from exc
        if self._handshake:
            replies = await connection.call(encode(self._handshake), len(self._handshake))
            try:
                _raise_error_reply(replies, RedisUnavailable, "Redis refused the connection's setup: ")
            except RedisUnavailable:
                connection.close()
                raise
        if self._closed:
            connection.close()
            raise RedisUnavailable("the client is closed")
        self._connection = connection
        return connection

    async def aclose(self) -> None:
        self._closed = True
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _raise_error_reply(replies: Sequence[Any], error: type[Exception], prefix: str = "") -> None:
    """Raise `error` with the first error reply among `replies`, if any."""
    for reply in replies:
        if isinstance(reply, hiredis.ReplyError):
            raise error(f"{prefix}{reply}")


def _retrieve(task: asyncio.Task[_Connection]) -> None:
    if not task.cancelled():
        task.exception()
