"""A response's head: its status line, the checked headers, and how its body is framed."""

from __future__ import annotations

import re
from collections.abc import Iterable
from http import HTTPStatus

CRLF = b"\r\n"
CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
LAST_CHUNK = b"0\r\n\r\n"

_TOKEN_CHARS = re.compile(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # a header name is an RFC 9110 token
_BAD_VALUE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")  # CR, LF and the other controls but tab
_CHECKED_NAMES: set[bytes] = set()  # names already found to be tokens (responses reuse a few)
_CHECKED_NAMES_MAX = 1024


def _status_line(code: int) -> bytes:
    try:
        phrase = HTTPStatus(code).phrase.encode("ascii")
    except ValueError:
        phrase = b""
    return b"HTTP/1.1 %d %s\r\n" % (code, phrase)


STATUS_LINES = {code: _status_line(code) for code in range(100, 600)}


class HeadError(Exception):
    """The application gave a head that cannot be sent (a bad status, name or value)."""


class Head:
    """The bytes of a response head, and the framing of the body that follows it."""

    __slots__ = ("chunked", "close", "data", "length")

    def __init__(self, data: bytes, length: int | None, chunked: bool, close: bool) -> None:
        self.data = data
        self.length = length  # the Content-Length the application gave, if any
        self.chunked = chunked  # the body goes out in chunks (no length: a streaming response)
        self.close = close  # the connection closes after this response (the app or the framing says so)


def build_head(
    status: int,
    headers: Iterable[tuple[bytes, bytes]],
    defaults: bytes,
    *,
    keep_alive: bool,
    bodiless: bool,
    legacy: bool = False,
) -> Head:
    """The head for `status` and the application's `headers` after the server's `defaults` (date,
    server: already encoded lines). `bodiless`: a HEAD request, or a status that has no body.

    `legacy`: an HTTP/1.0 client. It cannot read chunks, so a body of unknown length is delimited
    by the connection's close; and it keeps the connection only when told `connection: keep-alive`
    (it asked for that, or `keep_alive` would be False)."""
    line = STATUS_LINES.get(status) if type(status) is int else None
    if line is None:
        raise HeadError(f"invalid HTTP status {status!r}")
    parts = [line, defaults]
    length: int | None = None
    chunked = False
    close = False
    for name, value in headers:
        if name not in _CHECKED_NAMES:
            _check_name(name)
        if _BAD_VALUE.search(value) is not None:
            raise HeadError(f"invalid value for HTTP header {name!r}")
        lowered = name.lower()
        if lowered == b"content-length":
            if length is None:
                try:
                    length = int(value)
                except ValueError:
                    raise HeadError(f"invalid Content-Length {value!r}") from None
        elif lowered == b"transfer-encoding":
            chunked = value.lower() == b"chunked"
        elif lowered == b"connection" and value.lower() == b"close":
            close = True
        parts += (name, b": ", value, CRLF)
    if length is None and not chunked and not bodiless:
        if legacy:
            keep_alive = False  # the body ends with the connection
        else:
            chunked = True
            parts.append(b"transfer-encoding: chunked\r\n")
    if not keep_alive and not close:
        parts.append(b"connection: close\r\n")
    elif keep_alive and legacy and not close:
        parts.append(b"connection: keep-alive\r\n")
    parts.append(CRLF)
    return Head(b"".join(parts), length, chunked and not bodiless, close or not keep_alive)


def _check_name(name: bytes) -> None:
    if not isinstance(name, bytes) or _TOKEN_CHARS.fullmatch(name) is None:
        raise HeadError(f"invalid HTTP header name {name!r}")
    if len(_CHECKED_NAMES) < _CHECKED_NAMES_MAX:
        _CHECKED_NAMES.add(name)


def encode_defaults(headers: Iterable[tuple[bytes, bytes]]) -> bytes:
    """The server's own header lines (uvicorn's `date` and `server`), as they go into every head."""
    return b"".join(name + b": " + value + CRLF for name, value in headers)


def plain_response(status: int, text: str, defaults: bytes) -> bytes:
    """A whole `text/plain` response that closes the connection: the server's own answers (400,
    431, 500, 503), for requests the application never saw or failed on before its head."""
    body = text.encode("utf-8")
    return b"".join((
        STATUS_LINES[status], defaults, b"content-type: text/plain; charset=utf-8\r\n",
        b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body), body,
    ))
