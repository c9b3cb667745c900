"""Run a snippet of Python in a process of its own (as a deployed worker starts), with a deadline."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Before the deadline the snippet writes every thread's stack to its standard error, so a snippet
# that hangs says where.
_DUMP_BEFORE_DEADLINE = "import faulthandler, sys; faulthandler.dump_traceback_later({after}, file=sys.stderr)\n"


async def run_python(code: str, env: Mapping[str, str], timeout: float = 120) -> str:
    """The snippet's standard output; fails with its standard error when it exits non-zero or hangs."""
    prelude = _DUMP_BEFORE_DEADLINE.format(after=max(1.0, timeout - 5))
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", prelude + code, cwd=ROOT, env=dict(env),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    reading = asyncio.ensure_future(process.communicate())
    done, _ = await asyncio.wait([reading], timeout=timeout)
    if not done:
        process.kill()
        _, err = await reading
        raise AssertionError(f"the snippet did not finish within {timeout:g}s; its stacks:\n{err.decode()[-6000:]}")
    out, err = reading.result()
    assert process.returncode == 0, err.decode()[-3000:]
    return out.decode()
