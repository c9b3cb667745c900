"""The C representation builder (gateway/execution/_representations.c) against the executor's
`build_representations`: the same representations (values and key order), the same positions per
distinct one, the same skips and the same errors, on random objects and recipes.

The builder is built by `make compile`; `make test-compiled` (GATEWAY_EXPECT_COMPILED=1) requires
it, a pure-Python run checks that no builder is loaded.
"""

from __future__ import annotations

import random
from typing import Any

import orjson
import pytest

from gateway import native
from gateway.execution import representations
from gateway.execution.executor import build_representations
from gateway.planning.nodes import EntityRep, RepSel
from tests.support.c_extensions import built_or_skip


def builder() -> Any:
    return built_or_skip(representations.NATIVE_REPRESENTATIONS, "the C representation builder")


def test_the_builder_loads_with_the_compiled_build_only() -> None:
    if native.SELECTED != "compiled":
        assert representations.NATIVE_REPRESENTATIONS is None


def sel(*fields: tuple[str, str, RepSel | None], frags: list[tuple[frozenset[str], RepSel]] | None = None) -> RepSel:
    return RepSel(list(fields), frags or [])


# Product: key `upc`, @requires price and a nested dimensions object; Book: compound key with a
# nested author and a list of ISBNs; Media (an @interfaceObject): sent as the interface, key `id`,
# with a fragment only for Movie; Aliased: the planner's alias `p0` sent back as `price`.
RECIPES = {
    "Product": EntityRep("Product", sel(("upc", "upc", None)),
                         sel(("price", "price", None), ("dims", "dims", sel(("w", "w", None), ("h", "h", None))))),
    "Book": EntityRep("Book", sel(("isbn", "isbn", None), ("author", "author", sel(("id", "id", None)))),
                      sel(("isbns", "isbns", None), ("shelves", "shelves", sel(("n", "n", None))))),
    "Movie": EntityRep("Media", sel(("id", "id", None), ("__typename", "__typename", None)),
                       sel(frags=[(frozenset({"Movie"}), sel(("length", "length", None)))])),
    "Aliased": EntityRep("Aliased", sel(("id", "id", None)), sel(("p0", "price", None))),
}

VALUES = [None, "a", "b", "", "é😀", 0, 1, -3, 2.5, True, False, [], [1, None], {"x": 1}]


def random_object(rng: random.Random) -> dict[str, Any]:
    typename = rng.choice([*RECIPES, "Unknown", None])
    obj: dict[str, Any] = {} if typename is None and rng.random() < 0.5 else {"__typename": typename}
    for key in ("upc", "price", "isbn", "isbns", "id", "length", "p0"):
        if rng.random() < 0.8:
            obj[key] = rng.choice(VALUES[:8]) if rng.random() < 0.7 else rng.choice(VALUES)
    if rng.random() < 0.8:
        obj["dims"] = rng.choice([None, {"w": 1, "h": None}, {"w": 2}, [{"w": 1}, None, {"h": 3}], "flat"])
    if rng.random() < 0.8:
        obj["author"] = rng.choice([None, {"id": "u1"}, {"id": None}, {"name": "x"}, [{"id": "u1"}, None],
                                    [{"id": None}], 7])
    if rng.random() < 0.8:
        obj["shelves"] = rng.choice([None, [{"n": 1}, {"n": None}], [[{"n": 1}], None], {"n": 2}])
    return obj


def both(objects: list[dict[str, Any]], positions: Any) -> tuple[Any, Any]:
    c_builder = builder()
    python, targets, _ = build_representations(RECIPES, objects, list(positions), False)
    compiled = c_builder.compile(RECIPES)
    in_c = c_builder.build(compiled, objects, positions)
    return (python, targets), in_c


@pytest.mark.parametrize("seed", range(30))
def test_the_c_builder_gives_what_python_gives_on_random_objects(seed: int) -> None:
    rng = random.Random(seed)
    pool = [random_object(rng) for _ in range(12)]
    for _ in range(30):
        objects = [rng.choice(pool) for _ in range(rng.randrange(25))]
        positions = list(range(len(objects)))
        if rng.random() < 0.3:
            positions = rng.sample(positions, len(positions) // 2)
        (python, targets), (reps_c, targets_c) = both(objects, positions)
        assert orjson.dumps(reps_c) == orjson.dumps(python)  # values and key order
        assert targets_c == targets


def test_duplicates_are_sent_once_and_answer_every_position() -> None:
    objects = [{"__typename": "Product", "upc": "1", "price": 5}, {"__typename": "Product", "upc": "2"},
               {"__typename": "Product", "upc": "1", "price": 5}, {"__typename": "Product", "upc": None}]
    reps, targets = builder().build(builder().compile(RECIPES), objects, range(len(objects)))
    assert reps == [{"__typename": "Product", "upc": "1", "price": 5, "dims": None},
                    {"__typename": "Product", "upc": "2", "price": None, "dims": None}]
    assert targets == [[0, 2], [1]]  # the object with a null key is skipped


def test_an_interface_object_is_sent_as_the_interface_with_the_fragment_of_its_type() -> None:
    objects = [{"__typename": "Movie", "id": "m1", "length": 90}]
    reps, _ = builder().build(builder().compile(RECIPES), objects, [0])
    assert list(reps[0].items()) == [("__typename", "Media"), ("id", "m1"), ("length", 90)]


def test_errors_are_the_ones_python_raises() -> None:
    c_builder = builder()
    compiled = c_builder.compile(RECIPES)
    unhashable = [{"__typename": ["Product"], "upc": "1"}]
    with pytest.raises(TypeError):
        build_representations(RECIPES, unhashable, [0], False)
    with pytest.raises(TypeError):
        c_builder.build(compiled, unhashable, [0])
    huge = [{"__typename": "Product", "upc": 2**70}]
    with pytest.raises(orjson.JSONEncodeError):
        build_representations(RECIPES, huge, [0], False)
    with pytest.raises(orjson.JSONEncodeError):
        c_builder.build(compiled, huge, [0])
    with pytest.raises(IndexError):
        c_builder.build(compiled, [], [0])
    with pytest.raises(TypeError):
        c_builder.build(RECIPES, [], [])


def test_deeply_nested_lists_raise_recursion_error_not_a_crash() -> None:
    value: Any = {"w": 1}
    for _ in range(10_000):
        value = [value]
    with pytest.raises(RecursionError):
        builder().build(builder().compile(RECIPES), [{"__typename": "Product", "upc": "1", "dims": value}], [0])
