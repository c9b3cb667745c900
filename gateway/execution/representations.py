"""The C builder of an uncached `_entities` fetch's representations (`_representations.c`), where
`make compile` built it; None otherwise, and then the executor's Python loop builds them.

Both give the same representations, in the same order, each distinct one once with the positions
it answers (tests/gateway/core/test_representations.py compares them). A fetch served by the
entity cache keeps the Python loop: it also needs each entity's key for the cache.
"""

from __future__ import annotations

import warnings
from types import ModuleType
from typing import Final

import orjson

from .. import native


def _load() -> ModuleType | None:
    if native.SELECTED != "compiled":
        return None
    try:
        from . import _representations  # type: ignore[attr-defined]
    except ImportError as exc:
        warnings.warn(f"gateway: no C representation builder ({exc}); building in Python", RuntimeWarning,
                      stacklevel=2)
        return None
    _representations.bind(orjson.dumps)
    return _representations


NATIVE_REPRESENTATIONS: Final = _load()
