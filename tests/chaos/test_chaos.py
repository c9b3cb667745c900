"""The chaos suite, bounded: a few fixed seeds, each a fresh stack of real processes under its
seeded fault plan, then I1-I4 (docs/guarantees.md). Deselect with `-m "not chaos"`.

The long run is `make chaos` (`python -m tests.chaos`).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from subgraphs.kit import embedded_mongo
from tests.chaos.harness import run_chaos
from tests.chaos.report import details, table

pytestmark = [pytest.mark.chaos, pytest.mark.slow]

SEEDS = (11, 23)
ORDERS = 45
CUSTOMERS = 6


@pytest.mark.parametrize("seed", SEEDS)
async def test_the_guarantees_hold_under_a_seeded_fault_plan(seed: int, tmp_path: Path) -> None:
    reason = embedded_mongo.unavailable_reason()
    if reason is not None and not os.environ.get("MONGODB_URL"):
        pytest.skip(f"the chaos suite needs one MongoDB shared by every process: {reason}")
    result = await run_chaos(seed, ORDERS, CUSTOMERS, log_dir=tmp_path, say=lambda line: None)
    report = f"\n{table([result])}\n{details(result)}"
    print(report)
    if not result.ok:
        pytest.fail(report, pytrace=False)
