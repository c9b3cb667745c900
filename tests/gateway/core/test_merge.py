"""The deep merge of subgraph JSON: the C version (gateway/execution/_merge.c) against `merge_json`,
on random trees and on the edge cases (nulls, lists of other lengths, dict subclasses, deep nesting).

The C merge is built by `make compile`; `make test-compiled` (GATEWAY_EXPECT_COMPILED=1) requires
it, a pure-Python run checks that `merge_into` is the Python version.
"""

from __future__ import annotations

import copy
import os
import random
from collections.abc import Callable
from typing import Any

import pytest

from gateway import native
from gateway.execution import merge
from gateway.execution.merge import merge_json
from tests.support.c_extensions import built_or_skip

Merge = Callable[[dict[str, Any], dict[str, Any]], None]

KEYS = ["id", "name", "__typename", "reviews", "author", "é", ""]


def native_merge() -> Merge:
    return built_or_skip(merge.NATIVE_MERGE, "the C merge")


def test_merge_into_is_the_c_merge_in_a_compiled_build_and_python_otherwise() -> None:
    if native.SELECTED == "compiled" and merge.NATIVE_MERGE is not None:
        assert merge.merge_into is merge.NATIVE_MERGE
    else:
        assert merge.merge_into is merge_json
        assert os.environ.get("GATEWAY_EXPECT_COMPILED") != "1"


class Trees:
    """Random JSON trees that overlap: the same keys, lists of the same (or another) length."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def value(self, depth: int) -> Any:
        pick = self.rng.randrange(10 if depth < 4 else 5)
        if pick == 0:
            return None
        if pick == 1:
            return self.rng.choice([0, 1, -7, 2**70, True, False, 1.5])
        if pick in (2, 3, 4):
            return self.rng.choice(["a", "b", "", "ü"])
        if pick in (5, 6, 7):
            return self.obj(depth + 1)
        return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]

    def obj(self, depth: int = 0) -> dict[str, Any]:
        keys = self.rng.sample(KEYS, self.rng.randrange(len(KEYS) + 1))
        return {key: self.value(depth) for key in keys}


def both(target: dict[str, Any], source: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(Python's result, C's result), each merged into its own deep copy."""
    in_python, in_c = copy.deepcopy(target), copy.deepcopy(target)
    merge_json(in_python, copy.deepcopy(source))
    native_merge()(in_c, copy.deepcopy(source))
    return in_python, in_c


@pytest.mark.parametrize("seed", range(40))
def test_the_c_merge_gives_what_the_python_merge_gives_on_random_trees(seed: int) -> None:
    trees = Trees(seed)
    for _ in range(50):
        target, source = trees.obj(), trees.obj()
        in_python, in_c = both(target, source)
        assert in_c == in_python
        assert repr(in_c) == repr(in_python)  # key order too (the response follows the merged order)


@pytest.mark.parametrize(
    ("target", "source", "merged"),
    [
        ({"a": None}, {"a": 1}, {"a": 1}),  # a null is filled
        ({"a": 1}, {"a": None}, {"a": 1}),  # a null never overwrites
        ({}, {"a": None}, {"a": None}),  # a missing key takes the null
        ({"a": {"x": 1}}, {"a": {"y": 2}}, {"a": {"x": 1, "y": 2}}),
        ({"a": [{"x": 1}, None, 3]}, {"a": [{"y": 2}, 4, 5]}, {"a": [{"x": 1, "y": 2}, 4, 3]}),  # by index
        ({"a": [1, 2]}, {"a": [3]}, {"a": [3]}),  # another length replaces
        ({"a": [[None, 1]]}, {"a": [[2, 3]]}, {"a": [[2, 1]]}),
        ({"a": {"x": 1}}, {"a": "s"}, {"a": "s"}),  # another kind replaces
        ({"a": "s"}, {"a": {"x": 1}}, {"a": {"x": 1}}),
        ({"b": 1, "a": 2}, {"c": 3, "a": 4}, {"b": 1, "a": 4, "c": 3}),
    ],
)
def test_the_c_merge_on_each_rule(target: dict[str, Any], source: dict[str, Any], merged: dict[str, Any]) -> None:
    in_python, in_c = both(target, source)
    assert in_python == merged
    assert in_c == merged


def test_a_dict_subclass_below_the_top_is_a_value_that_replaces_as_in_python() -> None:
    class Odd(dict[str, Any]):
        pass

    target: dict[str, Any] = {"a": {"x": 1}, "b": Odd(x=1)}
    source: dict[str, Any] = {"a": Odd(y=2), "b": {"y": 2}}
    in_python, in_c = dict(target), dict(target)
    merge_json(in_python, source)
    native_merge()(in_c, source)
    assert in_c == in_python == {"a": {"y": 2}, "b": {"y": 2}}
    assert type(in_c["a"]) is Odd and in_c["a"] is source["a"]


def test_the_merged_values_are_the_sources_own_objects_where_they_were_taken() -> None:
    merge_c = native_merge()
    shared = {"id": "1"}
    first: dict[str, Any] = {}
    second: dict[str, Any] = {"author": None}
    merge_c(first, {"author": shared})
    merge_c(second, {"author": shared})
    assert first["author"] is shared and second["author"] is shared


def test_deep_nesting_raises_recursion_error_not_a_crash() -> None:
    merge_c = native_merge()
    target: dict[str, Any] = {}
    source: dict[str, Any] = {}
    t, s = target, source
    for _ in range(100_000):
        t["a"], s["a"] = {}, {}
        t, s = t["a"], s["a"]
    with pytest.raises(RecursionError):
        merge_c(target, source)
    self_list: list[Any] = []
    self_list.append(self_list)
    with pytest.raises(RecursionError):
        merge_c({"a": self_list}, {"a": self_list})


def test_wrong_arguments_are_type_errors() -> None:
    merge_c = native_merge()
    with pytest.raises(TypeError):
        merge_c({}, [])  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        merge_c({})  # type: ignore[call-arg]
