"""An SMTP server on loopback that counts the emails it receives by Message-ID.

The notifications service sets `Message-ID: <notification id@domain>`, so a count above one is the
same notification delivered twice. SMTP delivery is at-least-once (a worker killed after the server
accepted a message and before it recorded SENT sends it again), so duplicates here are reported
beside the table, not as violations; the records themselves are checked by I3.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiosmtpd.controller import Controller

from subgraphs.kit.embedded_redis import free_port


class _Handler:
    def __init__(self) -> None:
        self.message_ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content or b""
        header = next((line for line in content.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
                       if line.lower().startswith(b"message-id:")), b"message-id: <none>")
        self.message_ids[header.split(b":", 1)[1].strip().decode(errors="replace")] += 1
        return "250 OK"


class SmtpSink:
    def __init__(self) -> None:
        self.port = free_port()
        self._handler = _Handler()
        self._controller = Controller(self._handler, hostname="127.0.0.1", port=self.port)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpSink:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    @property
    def received(self) -> int:
        return sum(self._handler.message_ids.values())

    @property
    def duplicates(self) -> int:
        return sum(count - 1 for count in self._handler.message_ids.values() if count > 1)
