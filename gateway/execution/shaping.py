"""Build the client response from merged subgraph data and the compiled shape.

Copies exactly the selected response keys in selection order, applies @skip/@include, resolves
type conditions through `__typename`, and propagates nulls by the API schema's nullability:
a null in a non-null position makes the nearest nullable parent null. A value the API schema does
not have (an @inaccessible enum value or object type) is null with an error (`value_completion`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..planning.operation import clauses_hold
from ..planning.shape import COMPOSITE, LEAF, OPAQUE, TYPENAME, ShapeField, ShapeSel
from .value_completion import invalid_typename, invalid_value


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


def shape_at(
    shape: ShapeSel,
    obj: dict[str, Any],
    variables: Mapping[str, Any],
    errors: list[dict[str, Any]],
    path: list[str | int],
) -> dict[str, Any] | None:
    """Shape one object found at `path` (a deferred fragment's data); None when a null bubbles up to it."""
    ctx = _Ctx(variables, errors, report=not errors)
    ctx.path = list(path)
    result = _shape_object(shape, obj, ctx)
    return None if result is _BUBBLE else result  # type: ignore[return-value]


def _shape_object(sel: ShapeSel, obj: dict[str, Any], ctx: _Ctx) -> dict[str, Any] | _Bubble:
    fields = sel.fields
    if sel.by_type is not None:
        fields = sel.by_type.get(obj.get("__typename"), fields)  # type: ignore[arg-type]
    out: dict[str, Any] = {}
    for field in fields:
        if field.clauses is not None and not clauses_hold(field.clauses, ctx.variables):
            continue
        key = field.key
        kind = field.kind
        value = obj.get(key)
        if kind == LEAF and field.enum_values is None:  # the common case first: a scalar copied as is
            if value is None and not field.nullable:
                return _null_in(field, key, ctx)
            out[key] = value
            continue
        if kind == TYPENAME:
            out[key] = sel.typename or obj.get("__typename") or value
            continue
        if value is None:
            if not field.nullable:
                return _null_in(field, key, ctx)
            out[key] = None
            continue
        if kind == OPAQUE and field.enum_values is None:
            out[key] = value
            continue
        path = ctx.path
        path.append(key)
        shaped: Any
        if kind != COMPOSITE:
            shaped = _shape_enum(field, value, 0, ctx)
        elif field.list_nullable:
            shaped = _shape_list(field, value, 0, ctx)
        elif type(value) is dict:
            sub = field.sub
            assert sub is not None
            shaped = _shape_object(sub, value, ctx) if sub.valid_types is None else _shape_composite(
                field, sub, value, ctx)
        else:
            shaped = None
        path.pop()
        if shaped is _BUBBLE or shaped is None:
            if not field.nullable:
                return _BUBBLE
            shaped = None
        out[key] = shaped
    return out


def _null_in(field: ShapeField, key: str, ctx: _Ctx) -> _Bubble:
    """A null where `field` may not be: reported at its path, and bubbling up."""
    ctx.path.append(key)
    ctx.null_error(field)
    ctx.path.pop()
    return _BUBBLE


def _shape_list(field: ShapeField, value: Any, level: int, ctx: _Ctx) -> list[Any] | _Bubble | None:
    if type(value) is not list:
        return None
    item_nullable = field.list_nullable[level]
    nested = level + 1 < len(field.list_nullable)
    sub = field.sub if field.kind == COMPOSITE else None
    plain = sub is not None and sub.valid_types is None  # objects without a __typename to check
    path = ctx.path
    depth = len(path)
    path.append(0)  # the item's index, set in place for each item (cheaper than a push and a pop)
    out: list[Any] = []
    for index, item in enumerate(value):
        path[depth] = index
        if item is None:
            if not item_nullable:
                ctx.null_error(field)
                del path[depth:]
                return _BUBBLE
            out.append(None)
            continue
        shaped: Any
        if nested:
            shaped = _shape_list(field, item, level + 1, ctx)
        elif sub is not None:
            if type(item) is not dict:
                shaped = None
            elif plain:
                shaped = _shape_object(sub, item, ctx)
            else:
                shaped = _shape_composite(field, sub, item, ctx)
        else:
            shaped = item
        if shaped is _BUBBLE or shaped is None:
            if not item_nullable:
                del path[depth:]
                return _BUBBLE
            shaped = None
        out.append(shaped)
    del path[depth:]
    return out


def _shape_composite(
    field: ShapeField, sel: ShapeSel, obj: dict[str, Any], ctx: _Ctx
) -> dict[str, Any] | _Bubble | None:
    """An object at an abstract position whose `__typename` the API schema lacks is null, with an error."""
    if sel.valid_types is not None:
        typename = obj.get("__typename")
        if typename is not None and typename not in sel.valid_types:
            ctx.errors.append(invalid_typename(ctx.path, field.type_name, field.parent_type))
            return None
    return _shape_object(sel, obj, ctx)


def _shape_enum(field: ShapeField, value: Any, level: int, ctx: _Ctx) -> Any:
    """An enum leaf (or list of them) the API schema must know: another value is null, with an error."""
    if level < len(field.list_nullable):
        if type(value) is not list:
            return None
        item_nullable = field.list_nullable[level]
        path = ctx.path
        out: list[Any] = []
        for index, item in enumerate(value):
            path.append(index)
            if item is None:
                if not item_nullable:
                    ctx.null_error(field)
                    path.pop()
                    return _BUBBLE
                shaped = None
            else:
                shaped = _shape_enum(field, item, level + 1, ctx)
            path.pop()
            if shaped is _BUBBLE or shaped is None:
                if not item_nullable:
                    return _BUBBLE
                shaped = None
            out.append(shaped)
        return out
    assert field.enum_values is not None
    if type(value) is str and value in field.enum_values:
        return value
    ctx.errors.append(invalid_value(ctx.path, field.type_name, field.parent_type))
    return None
