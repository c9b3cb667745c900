"""Cyclic-GC tuning for a serving worker, applied once its start-up is done.

A request allocates thousands of short-lived dicts and lists (subgraph JSON, the shaped response),
so with Python's defaults the collector runs every 700 net allocations and, now and then, walks
everything the process holds: the supergraph, the API schema, the planner's caches. After start-up
`gc.freeze()` moves all of that to the permanent generation, where collections no longer look, and
a higher generation-0 threshold makes the young collections rarer (each request's garbage is mostly
freed by reference counting anyway; the collector only has cycles to find).

Applied in the worker process (uvicorn's workers each run their own start-up), so a fork shares the
frozen pages instead of dirtying them.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("gateway.gc_tuning")


def tune_after_startup(freeze: bool, gen0_threshold: int) -> None:
    """Freeze what start-up allocated (`freeze`) and set the generation-0 threshold (0: leave it)."""
    if gen0_threshold > 0:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)
    if freeze:
        gc.collect()
        gc.freeze()
    log.debug("gc: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())
