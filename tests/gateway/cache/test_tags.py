"""Cache tags and dependencies (gateway.cache.tags), and the invalidation items that bump them."""

from __future__ import annotations

import time

import orjson
import pytest

from gateway.cache import local as local_module
from gateway.cache.invalidation import InvalidationError, parse_invalidations
from gateway.cache.local import LocalResponses
from gateway.cache.request_cache import MAX_KEPT_DEPENDENCY_BYTES, _entity_body, _entity_entry
from gateway.cache.tags import MAX_TAGS, LearntDependencies, fetch_dependencies, merged, parse_cache_tags


def test_a_header_becomes_sorted_distinct_tags() -> None:
    assert parse_cache_tags(" product:2, catalog,product:2 ,, ") == ("catalog", "product:2")


def test_no_header_an_empty_one_or_too_many_tags_mean_untagged() -> None:
    assert parse_cache_tags(None) is None
    assert parse_cache_tags(" , ") is None
    assert parse_cache_tags(", ".join(f"t{i}" for i in range(MAX_TAGS + 1))) is None
    assert parse_cache_tags("x" * 201) is None


def test_a_tagged_fetch_depends_on_its_tags_and_the_whole_subgraph_an_untagged_one_on_the_subgraph() -> None:
    assert fetch_dependencies("products", ("catalog", "p:1")) == ("products!", "products#catalog", "products#p:1")
    assert fetch_dependencies("products", None) == ("products",)
    assert merged(["reviews", "products!", "reviews"]) == ("products!", "reviews")


def test_each_kind_bumps_what_it_voids() -> None:
    items = parse_invalidations([
        {"kind": "entity", "type": "Product", "key": {"id": "1"}},
        {"kind": "tag", "tag": " p:1 "},
        {"kind": "type", "type": "Product"},
        {"kind": "subgraph"},
    ], default_subgraph="products")
    assert [item.dependencies() for item in items] == [
        ("products",), ("products", "products#p:1"), ("products", "products!"), ("products", "products!")]


def test_a_tag_item_needs_a_tag() -> None:
    with pytest.raises(InvalidationError, match="item 0: tag"):
        parse_invalidations([{"kind": "tag", "subgraph": "products"}])


def test_learnt_dependencies_start_afresh_past_their_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("gateway.cache.tags.MAX_LEARNT", 2)
    learnt = LearntDependencies()
    learnt.learn("a", ("x",))
    learnt.learn("b", ("y",))
    learnt.learn("c", ("z",))
    assert learnt.get("a", ()) == () and learnt.get("c", ()) == ("z",)


def test_the_in_process_tier_starts_a_new_session_past_its_epoch_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(local_module, "MAX_EPOCHS", 2)
    local = LocalResponses(1 << 20)
    local.reset(live=True)
    later = int(time.time() * 1000) + 60_000
    stamp = local.stamp(["products#a"])
    assert stamp is not None
    local.put("d", b"p", b"{}", later, stamp, ["products#a"])
    local.bump(["products#b", "products#c"])
    assert local.get("d", [b"p"], stamp) is not None  # its own tag untouched
    local.bump(["products#d"])  # a third epoch: everything goes, old stamps never match again
    assert len(local) == 0 and local.live
    assert local.stamp(["products#a"]) != stamp


def test_a_cached_entity_brings_the_dependencies_it_was_stored_with() -> None:
    entity = {"__typename": "Product", "upc": "1"}
    stored = b'[["inventory!","inventory#stock"],' + orjson.dumps(entity) + b"]"
    assert _entity_entry(stored, "inventory") == (entity, ("inventory!", "inventory#stock"))
    # an entry stored before entries kept them, or naming another subgraph's: the subgraph untagged
    assert _entity_entry(orjson.dumps(entity), "inventory") == (entity, ("inventory",))
    assert _entity_entry(b'[["products#x"],' + orjson.dumps(entity) + b"]", "inventory") == (entity, ("inventory",))
    assert _entity_entry(b"[1, 2]", "inventory") == (None, ())
    assert _entity_entry(b"not json", "inventory") == (None, ())


def test_an_entity_entry_keeps_its_dependencies_up_to_a_bound_then_counts_as_untagged() -> None:
    entity = orjson.dumps({"__typename": "Product", "upc": "1"})
    few = fetch_dependencies("inventory", ("stock",))
    assert _entity_entry(_entity_body(entity, orjson.dumps(few)), "inventory") == (orjson.loads(entity), few)
    many = fetch_dependencies("inventory", tuple(f"product:{n:05d}" for n in range(MAX_TAGS)))
    assert len(orjson.dumps(many)) > MAX_KEPT_DEPENDENCY_BYTES
    bare = _entity_body(entity, orjson.dumps(many))
    assert bare == entity and _entity_entry(bare, "inventory") == (orjson.loads(entity), ("inventory",))
