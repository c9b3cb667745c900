"""Declared indexes reconciled with a collection's: created, kept, replaced when changed, dropped."""

from __future__ import annotations

from typing import Any

from subgraphs.kit.indexes import IndexSpec, ensure_indexes, ttl
from tests.support.mongo import TestMongo


async def described(collection: Any) -> dict[str, tuple[Any, Any, Any]]:
    info = await collection.index_information()
    return {name: (tuple(tuple(pair) for pair in spec["key"]), spec.get("expireAfterSeconds"),
                   spec.get("partialFilterExpression")) for name, spec in info.items() if name != "_id_"}


async def test_indexes_are_created_kept_replaced_and_dropped(mongo: TestMongo) -> None:
    collection = mongo.database("kit")["things"]
    await collection.insert_one({"_id": 1})
    await collection.create_index("updated_at")  # as an earlier version declared it
    await collection.create_index("legacy", name="legacy")
    specs = [ttl("updated_at", 3600, "stale_things", partial={"state": {"$in": ["done"]}}),
             IndexSpec([("kind", 1), ("at", -1)], "by_kind")]
    await ensure_indexes(collection, specs, obsolete=["legacy", "never_was"])
    assert await described(collection) == {
        "stale_things": ((("updated_at", 1),), 3600, {"state": {"$in": ["done"]}}),
        "by_kind": ((("kind", 1), ("at", -1)), None, None),
    }
    await ensure_indexes(collection, specs)  # unchanged: nothing to do, no error
    await ensure_indexes(collection, [ttl("updated_at", 60, "stale_things"), specs[1]])
    assert (await described(collection))["stale_things"] == ((("updated_at", 1),), 60, None)
