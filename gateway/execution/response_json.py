"""A response's JSON body, from the merged subgraph data and the operation's compiled shape.

Where `make compile` built the C response writer (`_response_writer.c`), a response without errors
is shaped and serialized in one walk, with no shaped tree in between. Anything else, and any
response the writer hands back (shaping would report an error), is shaped in Python
(`shaping.shape_response`) and serialized by orjson. Both give the same bytes.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

import orjson

from .. import native
from ..planning.operation import clauses_hold
from ..planning.shape import ShapeSel
from .shaping import shape_response


def _load_writer() -> ModuleType | None:
    module = native.load_c_extension("gateway.execution._response_writer", "shaping in Python")
    if module is not None:
        module.bind(orjson.dumps, clauses_hold)
    return module


WRITER = _load_writer()


def response_body(
    shape: ShapeSel, data: dict[str, Any] | None, variables: Mapping[str, Any], errors: list[dict[str, Any]]
) -> bytes:
    """`{"data": ...}`, with `"errors"` first when there are any; shaping may add to `errors`."""
    if WRITER is not None and not errors:
        plan = shape.writer_plan
        if plan is None:
            plan = shape.writer_plan = WRITER.compile(shape)
        body: bytes | None = WRITER.write(plan, data, variables)
        if body is not None:
            return body
    shaped = shape_response(shape, data, variables, errors)
    if errors:
        return orjson.dumps({"errors": errors, "data": shaped})
    return orjson.dumps({"data": shaped})
