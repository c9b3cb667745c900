"""The gateway's own HTTP/1.1 protocol for uvicorn's server (gateway.http1.connection).

Given to uvicorn as its `http` class by import string (multi-worker runs import it too);
`GATEWAY_HTTP=uvicorn` runs uvicorn's own httptools protocol instead.
"""

from __future__ import annotations

IMPORT_STRING = "gateway.http1.connection:HttpConnection"
UVICORN_HTTPTOOLS = "httptools"
