"""Build the client response from merged subgraph data and the compiled shape.

Copies exactly the selected response keys in selection order, applies @skip/@include, resolves
type conditions through `__typename`, and propagates nulls by the API schema's nullability:
a null in a non-null position makes the nearest nullable parent null.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..planning.operation import clauses_hold
from ..planning.shape import COMPOSITE, LEAF, OPAQUE, TYPENAME, ShapeField, ShapeSel


class _Bubble:
    __slots__ = ()


_BUBBLE = _Bubble()


class _Ctx:
    __slots__ = ("errors", "path", "report", "variables")

    def __init__(self, variables: Mapping[str, Any], errors: list[dict[str, Any]], report: bool) -> None:
        self.variables = variables
        self.errors = errors
        self.report = report
        self.path: list[str | int] = []

    def null_error(self, field: ShapeField) -> None:
        if self.report:
            self.report = False  # one error per response is enough to explain the null
            self.errors.append(
                {
                    "message": f"Cannot return null for non-nullable field {field.parent_type}.{field.name}.",
                    "path": list(self.path),
                    "extensions": {"code": "INVALID_NULL"},
                }
            )


def shape_response(
    shape: ShapeSel, data: dict[str, Any] | None, variables: Mapping[str, Any], errors: list[dict[str, Any]]
) -> dict[str, Any] | None:
    """Shape `data`; returns None when a null bubbles up to the root."""
    ctx = _Ctx(variables, errors, report=not errors)
    result = _shape_object(shape, data if data is not None else {}, ctx)
    return None if result is _BUBBLE else result  # type: ignore[return-value]


def _shape_object(sel: ShapeSel, obj: dict[str, Any], ctx: _Ctx) -> dict[str, Any] | _Bubble:
    fields = sel.fields
    if sel.by_type is not None:
        fields = sel.by_type.get(obj.get("__typename"), fields)  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    path = ctx.path
    for field in fields:
        if field.clauses is not None and not clauses_hold(field.clauses, ctx.variables):
            continue
        key = field.key
        kind = field.kind
        if kind == TYPENAME:
            out[key] = sel.typename or obj.get("__typename") or obj.get(key)
            continue
        value = obj.get(key)
        if value is None:
            if not field.nullable:
                path.append(key)
                ctx.null_error(field)
                path.pop()
                return _BUBBLE
            out[key] = None
            continue
        if kind in (LEAF, OPAQUE):
            out[key] = value
            continue
        path.append(key)
        shaped: Any
        if field.list_nullable:
            shaped = _shape_list(field, value, 0, ctx)
        elif type(value) is dict:
            assert field.sub is not None
            shaped = _shape_object(field.sub, value, ctx)
        else:
            shaped = None
        path.pop()
        if shaped is _BUBBLE or shaped is None:
            if not field.nullable:
                return _BUBBLE
            shaped = None
        out[key] = shaped
    return out


def _shape_list(field: ShapeField, value: Any, level: int, ctx: _Ctx) -> list[Any] | _Bubble | None:
    if type(value) is not list:
        return None
    item_nullable = field.list_nullable[level]
    nested = level + 1 < len(field.list_nullable)
    composite = field.kind == COMPOSITE
    sub = field.sub
    path = ctx.path
    out: list[Any] = []
    for index, item in enumerate(value):
        shaped: Any
        if item is None:
            shaped = None
            if not item_nullable:
                path.append(index)
                ctx.null_error(field)
                path.pop()
                return _BUBBLE
        else:
            path.append(index)
            if nested:
                shaped = _shape_list(field, item, level + 1, ctx)
            elif composite:
                assert sub is not None
                shaped = _shape_object(sub, item, ctx) if type(item) is dict else None
            else:
                shaped = item
            path.pop()
            if shaped is _BUBBLE or shaped is None:
                if not item_nullable:
                    return _BUBBLE
                shaped = None
        out.append(shaped)
    return out
