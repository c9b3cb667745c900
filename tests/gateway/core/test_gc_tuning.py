"""The serving worker tunes the cyclic GC once started (gateway.gc_tuning): freeze and threshold from
the environment, checked in a process of its own (a frozen test process would stay frozen)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.support.subprocess_run import run_python

SUPERGRAPH = Path(__file__).parent / "fixtures" / "basic.graphql"

START_AND_REPORT = """
import asyncio, gc, json
from gateway.server import create_app

async def main():
    app = create_app()
    before = gc.get_freeze_count()
    inbox = asyncio.Queue()
    outbox = asyncio.Queue()
    await inbox.put({"type": "lifespan.startup"})
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    task = asyncio.ensure_future(app(scope, inbox.get, outbox.put))
    started = await outbox.get()
    print(json.dumps({"started": started["type"], "before": before, "frozen": gc.get_freeze_count(),
                      "gen0": gc.get_threshold()[0]}))
    await inbox.put({"type": "lifespan.shutdown"})
    await outbox.get()
    await task

asyncio.run(main())
"""


@pytest.mark.parametrize(
    ("env", "frozen", "gen0"),
    [({}, True, 50_000), ({"GATEWAY_GC_FREEZE": "0", "GATEWAY_GC_GEN0_THRESHOLD": "0"}, False, 700)],
)
async def test_start_up_freezes_and_raises_the_threshold(env: dict[str, str], frozen: bool, gen0: int) -> None:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GATEWAY_GC_", "OTEL_"))}
    out = await run_python(START_AND_REPORT, {**base, "GATEWAY_SUPERGRAPH": str(SUPERGRAPH), **env}, timeout=60)
    report = json.loads(out.strip().splitlines()[-1])
    assert report["started"] == "lifespan.startup.complete" and report["before"] == 0
    assert (report["frozen"] > 10_000) is frozen  # the supergraph, schema and modules at least
    assert report["gen0"] == gen0
