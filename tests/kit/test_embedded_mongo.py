"""The embedded MongoDB wire-protocol server: real protocol, data kept on disk, tied to its owner's
life, and the runtime's choice between MONGODB_URL, a private server and the in-memory fake."""

from __future__ import annotations

import logging
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from pymongo import MongoClient, ReturnDocument
from pymongo.errors import DuplicateKeyError

from subgraphs.kit import embedded_mongo
from subgraphs.kit.embedded_mongo import EmbeddedMongo
from subgraphs.kit.runtime import ServiceRuntime
from subgraphs.kit.settings import Settings
from tests.support.mongo import TestMongo

needs_server = pytest.mark.skipif(not embedded_mongo.available(), reason=str(embedded_mongo.unavailable_reason()))


def _is_fake(database: object) -> bool:
    return any(cls.__module__.startswith("mongomock") for cls in type(database).__mro__)


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _wait(condition: object, timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(0.05)


@needs_server
def test_data_on_disk_outlives_a_restart_of_the_server(tmp_path: Path) -> None:
    path = tmp_path / "mongo" / "data.sqlite"
    first = EmbeddedMongo(path).start()
    try:
        with MongoClient(first.url) as client:
            client.shop.orders.insert_one({"_id": "o1", "total": 3_000_000_000})
    finally:
        first.stop()
    assert not first.running
    second = EmbeddedMongo(path).start()
    try:
        with MongoClient(second.url) as client:
            assert client.shop.orders.find_one({"_id": "o1"}) == {"_id": "o1", "total": 3_000_000_000}
    finally:
        second.stop()


@needs_server
def test_it_behaves_like_mongodb_where_the_fake_does_not() -> None:
    server = EmbeddedMongo().start()
    try:
        with MongoClient(server.url) as client:
            payments = client.db.payments
            payments.insert_one({"_id": "p", "refunds": [{"id": "r1", "s": "P"}, {"id": "r2", "s": "P"}]})
            # The positional operator names the element $elemMatch matched (mongomock writes refunds[0]).
            payments.update_one({"_id": "p", "refunds": {"$elemMatch": {"id": "r2"}}}, {"$set": {"refunds.$.s": "D"}})
            assert [r["s"] for r in payments.find_one({"_id": "p"})["refunds"]] == ["P", "D"]
            # A unique index over an array field is enforced per element.
            products = client.db.products
            products.create_index("variants.sku", unique=True)
            products.insert_one({"_id": 1, "variants": [{"sku": "A"}, {"sku": "B"}]})
            with pytest.raises(DuplicateKeyError):
                products.insert_one({"_id": 2, "variants": [{"sku": "B"}]})
            # A conditional decrement never goes below its guard.
            stock = client.db.stock
            stock.insert_one({"_id": "s", "available": 3})
            taken = [stock.find_one_and_update({"_id": "s", "available": {"$gte": 1}}, {"$inc": {"available": -1}},
                                               return_document=ReturnDocument.AFTER) for _ in range(5)]
            assert sum(1 for t in taken if t is not None) == 3
            assert stock.find_one({"_id": "s"})["available"] == 0
    finally:
        server.stop()


@needs_server
def test_the_server_stops_when_its_owner_is_killed(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    owner = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import time
        from pathlib import Path
        from subgraphs.kit.embedded_mongo import EmbeddedMongo
        server = EmbeddedMongo().start()
        Path({str(port_file)!r}).write_text(str(server.port))
        time.sleep(600)
    """)], cwd=Path(__file__).resolve().parents[2])
    try:
        _wait(lambda: port_file.exists() and port_file.read_text(), 30, "the owner to start its server")
        port = int(port_file.read_text())
        assert _listening(port)
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        _wait(lambda: not _listening(port), 30, "the orphaned server to stop")
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()


async def test_a_service_uses_the_database_its_settings_name(redis_url: str, mongo: TestMongo) -> None:
    if not mongo.real:
        pytest.skip("no wire-protocol server here")
    runtime = ServiceRuntime(Settings.from_env("kittest", env={"REDIS_URL": redis_url, **mongo.env("kittest")}))
    await runtime.start()
    try:
        await runtime.db["things"].insert_one({"_id": "t1"})
        names = await runtime.db.client.list_database_names()
        assert mongo.name("kittest") in names
        assert (await mongo.database("kittest")["things"].find_one({"_id": "t1"})) == {"_id": "t1"}
    finally:
        await runtime.stop()


async def test_without_a_server_the_runtime_falls_back_to_the_fake_and_says_so(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("MONGO_SERVER_PYTHON", str(tmp_path / "no-such-python"))
    runtime = ServiceRuntime(Settings.from_env("kittest", env={"REDIS_URL": redis_url}))
    with caplog.at_level(logging.WARNING):
        await runtime.start()
    try:
        assert _is_fake(runtime.db)
        assert "no private MongoDB server" in caplog.text
        assert "in-memory MongoDB fake" in caplog.text
    finally:
        await runtime.stop()


@needs_server
async def test_without_mongodb_url_a_service_gets_a_private_server(redis_url: str) -> None:
    runtime = ServiceRuntime(Settings.from_env("kittest", env={"REDIS_URL": redis_url}))
    await runtime.start()
    try:
        assert not _is_fake(runtime.db)
        assert await runtime.readiness() == {"mongo": True, "redis": True}
    finally:
        await runtime.stop()


def test_the_suite_honours_mongodb_url(mongo_server_url: str | None) -> None:
    configured = os.environ.get("TEST_MONGODB_URL") or os.environ.get("MONGODB_URL")
    if configured:
        assert mongo_server_url == configured
    else:
        assert (mongo_server_url is not None) == embedded_mongo.available()
