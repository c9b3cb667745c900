"""The deep merge of subgraph JSON into the response's data tree.

Every root and entity answer is merged by `merge_into`: the C version (`_merge.c`) where `make
compile` built it, else `merge_json` below; both do the same, step for step (tests/gateway/core/
test_merge.py compares them).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from .. import native


def merge_json(target: dict[str, Any], source: dict[str, Any]) -> None:
    """Deep-merge subgraph JSON `source` into `target` in place (objects by key, lists by index)."""
    for key, value in source.items():
        current = target.get(key)
        if current is None:
            target[key] = value
        elif value is None:
            continue
        elif type(current) is dict and type(value) is dict:
            merge_json(current, value)
        elif type(current) is list and type(value) is list and len(current) == len(value):
            _merge_lists(current, value)
        else:
            target[key] = value


def _merge_lists(current: list[Any], value: list[Any]) -> None:
    for index, item in enumerate(value):
        existing = current[index]
        if type(existing) is dict and type(item) is dict:
            merge_json(existing, item)
        elif type(existing) is list and type(item) is list and len(existing) == len(item):
            _merge_lists(existing, item)
        elif existing is None:
            current[index] = item


def _load_native() -> Callable[[dict[str, Any], dict[str, Any]], None] | None:
    module = native.load_c_extension("gateway.execution._merge", "merging in Python")
    return None if module is None else module.merge_into


NATIVE_MERGE: Final = _load_native()
merge_into: Final[Callable[[dict[str, Any], dict[str, Any]], None]] = NATIVE_MERGE or merge_json
