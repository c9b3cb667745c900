"""The C builder of an uncached `_entities` fetch's representations (`_representations.c`), where
`make compile` built it; None otherwise, and then the executor's Python loop builds them.

Both give the same representations, in the same order, each distinct one once with the positions
it answers (tests/gateway/core/test_representations.py compares them). A fetch served by the
entity cache keeps the Python loop: it also needs each entity's key for the cache.
"""

from __future__ import annotations

from types import ModuleType
from typing import Final

import orjson

from .. import native


def _load() -> ModuleType | None:
    module = native.load_c_extension("gateway.execution._representations", "building representations in Python")
    if module is not None:
        module.bind(orjson.dumps)
    return module


NATIVE_REPRESENTATIONS: Final = _load()
