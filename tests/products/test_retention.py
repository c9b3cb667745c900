"""Retention: abandoned carts and finished reservations expire by TTL; live reservations never do."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from subgraphs.products.config import ProductsConfig
from tests.products.support import Harness
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for

DAY = 86400


async def index(collection: Any, name: str) -> dict[str, Any] | None:
    found: dict[str, Any] | None = (await collection.index_information()).get(name)
    return found


async def test_carts_and_finished_reservations_have_ttl_indexes(empty: Harness) -> None:
    """Regression: carts and reservations were kept for ever (a plain updated_at index, no TTL)."""
    db = empty.runtime.db
    carts = await index(db["carts"], "abandoned_carts")
    assert carts is not None and carts["expireAfterSeconds"] == 30 * DAY
    reservations = await index(db["reservations"], "finished_reservations")
    assert reservations is not None and reservations["expireAfterSeconds"] == 30 * DAY
    assert reservations["partialFilterExpression"] == {"state": {"$in": ["released", "committed"]}}


async def test_an_older_index_is_replaced_when_the_retention_changes(empty: Harness) -> None:
    db = empty.runtime.db
    await db["carts"].drop_index("abandoned_carts")
    await db["carts"].create_index("updated_at")  # what earlier versions created
    empty.service.config = replace(empty.service.config, cart_retention_days=7, reservation_retention_days=0.5)
    await empty.service.start()
    info = await db["carts"].index_information()
    assert "updated_at_1" not in info and info["abandoned_carts"]["expireAfterSeconds"] == 7 * DAY
    assert (await index(db["reservations"], "finished_reservations") or {})["expireAfterSeconds"] == DAY // 2


def test_retention_settings() -> None:
    config = ProductsConfig.from_env({"PRODUCTS_CART_RETENTION_DAYS": "14",
                                      "PRODUCTS_RESERVATION_RETENTION_DAYS": "2.5"})
    assert (config.cart_retention_days, config.reservation_retention_days) == (14, 2.5)
    assert ProductsConfig.from_env({}).cart_retention_days == 30
    for bad in ("0", "-1", "soon", "nan", "inf"):
        with pytest.raises(ValueError, match="PRODUCTS_CART_RETENTION_DAYS"):
            ProductsConfig.from_env({"PRODUCTS_CART_RETENTION_DAYS": bad})


async def test_the_server_removes_what_expired_and_nothing_live(empty: Harness, mongo: TestMongo) -> None:
    if not mongo.real:
        pytest.skip("the in-memory fake does not expire documents")
    db = empty.runtime.db
    long_ago = datetime.now(UTC) - timedelta(days=400)
    now = datetime.now(UTC)
    await db["carts"].insert_many([{"_id": "abandoned", "lines": [], "rev": 1, "updated_at": long_ago},
                                   {"_id": "recent", "lines": [], "rev": 1, "updated_at": now}])
    await db["reservations"].insert_many([
        {"_id": state, "state": state, "lines": [], "created_at": long_ago, "updated_at": long_ago}
        for state in ("pending", "reserved", "released", "committed")])

    async def expired() -> bool:
        carts = {doc["_id"] async for doc in db["carts"].find({}, {"_id": 1})}
        reservations = {doc["_id"] async for doc in db["reservations"].find({}, {"_id": 1})}
        return "abandoned" not in carts and not {"released", "committed"} & reservations

    # mongoeco expires on the next use of the collection; MongoDB's TTL monitor runs once a minute.
    await wait_for(expired, timeout=150, interval=0.5, message="the TTL indexes to remove expired documents")
    assert {doc["_id"] async for doc in db["carts"].find({}, {"_id": 1})} == {"recent"}
    assert {doc["_id"] async for doc in db["reservations"].find({}, {"_id": 1})} == {"pending", "reserved"}
