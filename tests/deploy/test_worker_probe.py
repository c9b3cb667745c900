"""The workers' probe command, run as the kubelet would: it fails until the supervised worker polls."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
import time
from pathlib import Path

import pytest
from arq import func

from subgraphs.kit.queue import InProcessWorker
from tests.deploy.conftest import Rendered

PROBE_DEADLINE_SECONDS = 30.0


async def _noop(ctx: dict[str, object]) -> None:
    return None


async def _probe(command: list[str], env: dict[str, str]) -> int:
    executable = Path(sys.executable).parent / command[0]  # `arq` from this environment, as in the image
    process = await asyncio.create_subprocess_exec(
        str(executable), *command[1:], env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL)
    return await asyncio.wait_for(process.wait(), timeout=PROBE_DEADLINE_SECONDS)


@pytest.mark.parametrize("name", ["payments-worker", "orders-worker", "notifications-worker"])
async def test_the_worker_probe_passes_once_the_supervised_worker_polls(
        name: str, production: Rendered, redis_url: str) -> None:
    container = production.deployments[name]["spec"]["template"]["spec"]["containers"][0]
    command = container["livenessProbe"]["exec"]["command"]
    env = {**os.environ, **production.container_env(container), "REDIS_URL": redis_url}
    assert await _probe(command, env) == 1  # nothing polls the queue yet

    module_name, _, attribute = command[-1].rpartition(".")
    queue_name = getattr(importlib.import_module(module_name), attribute).queue_name
    worker = InProcessWorker(functions=[func(_noop, name="noop")], queue_name=queue_name,
                             redis_url=redis_url, ctx={})
    await worker.start()
    try:
        deadline = time.monotonic() + PROBE_DEADLINE_SECONDS
        code = await _probe(command, env)
        while code != 0 and time.monotonic() < deadline:
            code = await _probe(command, env)
        assert code == 0
    finally:
        await worker.stop()
