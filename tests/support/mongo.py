"""A database per test on a real MongoDB wire-protocol server, dropped after the test.

The server is TEST_MONGODB_URL or MONGODB_URL (a real MongoDB 7 or 8, say), else the embedded
mongoeco server started once for the session; only where neither exists, the in-memory fake.
`MONGODB_DRIVER` (motor, pymongo) picks the driver, as it does for the services.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from subgraphs.kit.mongo import close_client, connect_memory, connect_url

Database = Any


class TestMongo:
    """Hands out databases named for this test; `drop()` removes every one of them."""

    __test__ = False  # not a test class

    def __init__(self, url: str | None) -> None:
        self.url = url
        self.driver = os.environ.get("MONGODB_DRIVER", "motor")
        self.prefix = f"t{uuid.uuid4().hex[:10]}"
        self._client: Any = None
        self._memory: dict[str, tuple[Any, Database]] = {}
        self._names: set[str] = set()

    @property
    def real(self) -> bool:
        return self.url is not None

    def name(self, service: str) -> str:
        name = f"{self.prefix}_{service}"
        self._names.add(name)
        return name

    def env(self, service: str) -> dict[str, str]:
        """Settings for a service under test: this test's database for it, its worker in-process."""
        if self.url is None:
            return {"MONGODB_EMBEDDED": "0", "RUN_WORKER_IN_PROCESS": "1"}
        return {"MONGODB_URL": self.url, f"{service.upper()}_MONGODB_DATABASE": self.name(service),
                "MONGODB_DRIVER": self.driver, "RUN_WORKER_IN_PROCESS": "1"}

    def database(self, service: str) -> Database:
        """This test's database for `service` (the one `env(service)` names)."""
        name = self.name(service)
        if self.url is None:
            if name not in self._memory:
                self._memory[name] = connect_memory(name)
            return self._memory[name][1]
        if self._client is None:
            self._client, _ = connect_url(self.url, name, self.driver)
        return self._client[name]

    async def drop(self) -> None:
        if self.url is None:
            return
        if self._client is None:
            self._client, _ = connect_url(self.url, "admin", self.driver)
        try:
            for name in self._names:
                await self._client.drop_database(name)
        finally:
            await close_client(self._client)
            self._client = None
