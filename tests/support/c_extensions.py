"""The gateway's C extensions in tests: present with `make compile`, required under
GATEWAY_EXPECT_COMPILED=1 (`make test-compiled`), skipped otherwise."""

from __future__ import annotations

import os
from typing import TypeVar

import pytest

T = TypeVar("T")


def built_or_skip(loaded: T | None, what: str) -> T:
    if loaded is None:
        if os.environ.get("GATEWAY_EXPECT_COMPILED") == "1":
            pytest.fail(f"GATEWAY_EXPECT_COMPILED=1 but {what} did not load")
        pytest.skip(f"{what} is not built here (`make compile` builds it)")
    return loaded
