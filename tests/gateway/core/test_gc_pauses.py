"""The worker's garbage collections are timed into gateway_gc_pause_seconds, by generation."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from prometheus_client import REGISTRY

from gateway import metrics


def pauses(generation: str) -> float:
    metrics.flush()
    value = REGISTRY.get_sample_value("gateway_gc_pause_seconds_count", {"generation": generation})
    return value or 0.0


@pytest.fixture(autouse=True)
def explicit_collections_only() -> Iterator[None]:
    """No automatic collection between a count and the next (counting allocates): only the test's own."""
    enabled = gc.isenabled()
    gc.disable()
    yield
    if enabled:
        gc.enable()


@pytest.fixture
def watching() -> Iterator[None]:
    metrics.watch_gc()
    yield
    metrics.unwatch_gc()


def test_each_full_collection_is_one_pause_of_generation_2(watching: None) -> None:
    before = pauses("2")
    for _ in range(3):
        gc.collect()
    assert pauses("2") - before == 3
    metrics.flush()
    total = REGISTRY.get_sample_value("gateway_gc_pause_seconds_sum", {"generation": "2"})
    assert total is not None and total > 0


def test_a_young_collection_counts_as_generation_0(watching: None) -> None:
    before = pauses("0")
    gc.collect(0)
    assert pauses("0") - before == 1


def test_watching_twice_times_each_collection_once() -> None:
    metrics.watch_gc()
    metrics.watch_gc()
    try:
        assert sum(isinstance(callback, metrics._GcPauses) for callback in gc.callbacks) == 1
        before = pauses("2")
        gc.collect()
        assert pauses("2") - before == 1
    finally:
        metrics.unwatch_gc()
    assert not any(isinstance(callback, metrics._GcPauses) for callback in gc.callbacks)


def test_no_pause_is_counted_after_unwatching() -> None:
    metrics.watch_gc()
    metrics.unwatch_gc()
    before = pauses("2")
    gc.collect()
    assert pauses("2") == before


def test_collections_started_by_allocation_churn_are_timed(watching: None) -> None:
    """Cyclic garbage makes the collector start at arbitrary allocations, not at `gc.collect()`
    (at the default threshold: a serving worker's own is set by gateway/gc_tuning.py)."""
    before = pauses("0")
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    gc.enable()
    try:
        for _ in range(20_000):
            node: list[object] = []
            node.append(node)
    finally:
        gc.disable()
        gc.set_threshold(*thresholds)
    assert pauses("0") > before
