"""Checks that only need one subgraph: @key / @requires / @provides field sets, @external usage, @override."""

from __future__ import annotations

from collections.abc import Callable

from .errors import CompositionIssue
from .fed1_upgrade import fix_inactive_provides_and_requires
from .fieldset import check_field_set
from .model import Kind, Subgraph, TypeDef

_Report = Callable[[str, str, str], None]  # (code, message, coordinate)


def validate_subgraph(sub: Subgraph) -> list[CompositionIssue]:
    """Report problems; for Federation 1 subgraphs also drop unused `@external` fields (as Apollo's upgrader)."""
    issues: list[CompositionIssue] = []
    used: set[tuple[str, str]] = set()
    if sub.fed1:
        fix_inactive_provides_and_requires(sub)

    def report(code: str, message: str, coordinate: str) -> None:
        issues.append(CompositionIssue(code, f"[{sub.name}] {message}", [sub.name], coordinate))

    for tdef in sub.types.values():
        for key in tdef.keys:
            if tdef.kind not in (Kind.OBJECT, Kind.INTERFACE):
                report(
                    "KEY_UNSUPPORTED_ON_TYPE", f'@key cannot be applied to {tdef.kind.value} "{tdef.name}"', tdef.name
                )
                continue
            version = sub.names.federation_version
            if tdef.kind == Kind.INTERFACE and version is not None and version < (2, 3):
                report(
                    "KEY_UNSUPPORTED_ON_INTERFACE",
                    f'Cannot use @key on interface "{tdef.name}": @key is not yet supported on interfaces',
                    tdef.name,
                )
                continue
            check = check_field_set(sub, tdef.name, key.fields, for_key=True)
            used.update(check.visited)
            for problem in check.problems:
                report(
                    f"KEY_{problem.code_suffix}",
                    f'On type "{tdef.name}", for @key(fields: "{key.fields}"): {problem.detail}',
                    tdef.name,
                )
        for fdef in tdef.fields.values():
            coordinate = f"{tdef.name}.{fdef.name}"
            if fdef.provides is not None and fdef.external:
                used.add((tdef.name, fdef.name))  # the selection still counts as used, as in Apollo
                if sub.type(fdef.type.base) is not None:
                    used.update(check_field_set(sub, fdef.type.base, fdef.provides).visited)
                report(
                    "EXTERNAL_COLLISION_WITH_ANOTHER_DIRECTIVE",
                    f'Cannot have both @provides and @external on field "{coordinate}"',
                    coordinate,
                )
            elif fdef.provides is not None:
                target = sub.type(fdef.type.base)
                if target is None or not target.is_composite:
                    report(
                        "PROVIDES_ON_NON_OBJECT_FIELD",
                        f'Invalid @provides directive on field "{coordinate}": field has type "{fdef.type}"'
                        " which is not a Composite Type",
                        coordinate,
                    )
                else:
                    _check_directive_fields(sub, tdef, coordinate, "provides", fdef.provides, target.name, used, report)
            if fdef.requires is not None:
                _check_directive_fields(sub, tdef, coordinate, "requires", fdef.requires, tdef.name, used, report)
        if tdef.interface_object and not tdef.keys:
            report(
                "INTERFACE_OBJECT_USAGE_ERROR",
                f'The @interfaceObject directive can only be applied to entity types but type "{tdef.name}" has no '
                "@key in this subgraph.",
                tdef.name,
            )
    _mark_context_fields(sub, used, report)
    _check_externals(sub, used, report)
    _check_type_references(sub, report)
    return issues


BUILTIN_SCALARS = frozenset({"String", "Int", "Float", "Boolean", "ID"})


def _check_type_references(sub: Subgraph, report: _Report) -> None:
    """Every referenced type must be defined (or built in); composition cannot invent it."""

    def check(name: str, where: str) -> None:
        if name not in sub.types and name not in BUILTIN_SCALARS:
            report("INVALID_GRAPHQL", f'Unknown type "{name}" (referenced by "{where}").', where)

    for tdef in sub.types.values():
        for iface in tdef.interfaces:
            check(iface, tdef.name)
        for member in tdef.members:
            check(member, tdef.name)
        for fdef in tdef.fields.values():
            check(fdef.type.base, f"{tdef.name}.{fdef.name}")
            for arg in fdef.args.values():
                check(arg.type.base, f"{tdef.name}.{fdef.name}({arg.name}:)")
        for iv in tdef.input_fields.values():
            check(iv.type.base, f"{tdef.name}.{iv.name}")


def _check_directive_fields(
    sub: Subgraph,
    tdef: TypeDef,
    coordinate: str,
    directive: str,
    fields: str,
    target: str,
    used: set[tuple[str, str]],
    report: _Report,
) -> None:
    check = check_field_set(sub, target, fields, allow_args=directive == "requires")
    used.update(check.visited)
    prefix = f'On field "{coordinate}", for @{directive}(fields: "{fields}"): '
    code = directive.upper()
    for problem in check.problems:
        report(f"{code}_{problem.code_suffix}", prefix + problem.detail, coordinate)
    if sub.fed1 or check.problems:
        return
    # Only leaves not below an @external field must be @external themselves: the sub-selection of an
    # external field is external too (e.g. `dimensions { length }` with `dimensions @external` needs no
    # @external on `Dimensions.length`), as in Apollo's validateFieldSetSelections.
    for type_name, field_name in check.leaves_outside_external:
        visited = sub.field(type_name, field_name)
        if visited is not None and not visited.external:
            report(
                f"{code}_FIELDS_MISSING_EXTERNAL",
                prefix + f'field "{type_name}.{field_name}" should not be part of a @{directive} since it is '
                "already provided by this subgraph (it is not marked @external)",
                coordinate,
            )


def _mark_context_fields(sub: Subgraph, used: set[tuple[str, str]], report: _Report) -> None:
    """Fields a `@fromContext` selection reads on the types setting its context are used (even @external);
    a context no type of the subgraph sets is an error."""
    for tdef in sub.types.values():
        for fdef in tdef.fields.values():
            for argument in fdef.context_arguments:
                selection = argument.selection.strip()
                if selection.startswith("{") and selection.endswith("}"):
                    selection = selection[1:-1]
                setters = [t for t in sub.types.values() if argument.context in t.deco.contexts]
                if not setters:
                    name = argument.context.removeprefix(f"{sub.name}__")
                    coordinate = f"{tdef.name}.{fdef.name}({argument.name}:)"
                    report(
                        "CONTEXT_NOT_SET",
                        f'Context "{name}" is used at location "{coordinate}" but is never set.',
                        coordinate,
                    )
                for setter in setters:
                    used.update(check_field_set(sub, setter.name, selection).visited)


def _check_externals(sub: Subgraph, used: set[tuple[str, str]], report: _Report) -> None:
    for tdef in sub.types.values():
        unused: list[str] = []
        for fdef in tdef.fields.values():
            if not fdef.external or (tdef.name, fdef.name) in used:
                continue
            if any(fdef.name in (sub.types[i].fields if i in sub.types else {}) for i in tdef.interfaces):
                continue  # declared to satisfy an interface
            unused.append(fdef.name)
        for name in unused:
            if sub.fed1:
                if len(tdef.fields) > 1:
                    del tdef.fields[name]
                continue
            coordinate = f"{tdef.name}.{name}"
            report(
                "EXTERNAL_UNUSED",
                f'Field "{coordinate}" is marked @external but is not used in any federation directive (@key, '
                "@provides, @requires) or to satisfy an interface; the field declaration has no use and should "
                "be removed (or the field should not be @external).",
                coordinate,
            )
