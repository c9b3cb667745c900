"""The demo catalog and `python -m subgraphs.products seed`."""

from __future__ import annotations

from typing import Any

import pytest
from mongomock_motor import AsyncMongoMockClient

from subgraphs.products import __main__ as cli
from subgraphs.products.demo import demo_documents, seed
from subgraphs.products.store import CatalogStore


def test_demo_catalog_is_deterministic_and_big_enough() -> None:
    docs = demo_documents()
    assert docs == demo_documents()
    assert len(docs) >= 50 and len({d["category"] for d in docs}) >= 5
    skus = [v["sku"] for d in docs for v in d["variants"]]
    assert len(skus) == len(set(skus))
    assert all(d["variants"] and all(v["options"] for v in d["variants"]) for d in docs)
    assert any(v["stock"]["on_hand"] > 0 for d in docs for v in d["variants"])
    assert any(v["stock"]["on_hand"] == 0 for d in docs for v in d["variants"])


async def test_seed_is_idempotent() -> None:
    store = CatalogStore(AsyncMongoMockClient()["products"])
    await store.ensure_indexes()
    assert await seed(store) == len(demo_documents())
    first = demo_documents()[0]
    await store.set_fields(first["_id"], {"name": "Changed Live"})
    assert await seed(store) == 0  # existing products are kept as they are
    assert await store.count({}) == len(demo_documents())
    assert (await store.raw(first["_id"]) or {})["name"] == "Changed Live"


def test_seed_command(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    client: Any = AsyncMongoMockClient()

    def fake_connect(settings: Any) -> tuple[Any, Any]:
        return client, client[settings.mongodb_database]

    monkeypatch.setattr(cli, "connect_mongo", fake_connect)
    monkeypatch.setenv("MONGODB_URL", "mongodb://db.invalid:27017")
    assert cli.main(["seed"]) == 0
    assert cli.main(["seed"]) == 0
    out = capsys.readouterr().out
    assert "60 of 60 products inserted" in out and "0 of 60 products inserted" in out

    monkeypatch.delenv("MONGODB_URL")
    assert cli.main(["seed"]) == 2
