"""Mutable selection sets for subgraph operations, built by the planner and printed once."""

from __future__ import annotations

from collections.abc import Mapping

from .operation import Clause


class FNode:
    """One field in a subgraph selection; `key` is the response key in the subgraph's answer."""

    __slots__ = ("args", "clause", "directives", "key", "name", "sub", "variables")

    def __init__(
        self,
        key: str,
        name: str,
        args: str,
        directives: str,
        variables: frozenset[str],
        composite: bool,
        clause: Clause | None = None,
    ) -> None:
        self.key = key
        self.name = name
        self.args = args
        self.directives = directives
        self.variables = variables
        self.sub: SelSet | None = SelSet() if composite else None
        # @skip/@include clause of `directives` (None: unconditional)
        self.clause = clause


class SelSet:
    __slots__ = ("fields", "frag_clauses", "frags", "reserved")

    def __init__(self, reserved: Mapping[str, tuple[str, str]] | None = None) -> None:
        self.fields: dict[str, FNode] = {}
        self.frags: dict[tuple[str, str], SelSet] = {}
        self.frag_clauses: dict[tuple[str, str], Clause] = {}
        # client response keys at this level -> (field name, args); internal fields must avoid them
        self.reserved = reserved

    def add_field(
        self,
        name: str,
        args: str = "",
        *,
        key: str | None = None,
        directives: str = "",
        variables: frozenset[str] = frozenset(),
        composite: bool = False,
        internal: bool = False,
        clause: Clause | None = None,
    ) -> FNode:
        wanted = key or name
        existing = self.fields.get(wanted)
        if existing is not None and existing.name == name and existing.args == args:
            if existing.directives != directives:
                existing.directives = ""  # keep it unconditional; the shaper applies conditions
                existing.clause = None
                existing.variables = _vars_without_directives(existing)
            return existing
        if internal:
            wanted = self._internal_key(name, args)
            existing = self.fields.get(wanted)
            if existing is not None:
                return existing
        node = FNode(wanted, name, args, directives, variables, composite, clause if directives else None)
        self.fields[wanted] = node
        return node

    def _internal_key(self, name: str, args: str) -> str:
        def free(candidate: str) -> bool:
            taken = self.fields.get(candidate)
            if taken is not None:
                return taken.name == name and taken.args == args
            if self.reserved and candidate in self.reserved:
                return self.reserved[candidate] == (name, args)
            return True

        if free(name):
            return name
        index = 1
        while not free(f"gw_{name}_{index}"):
            index += 1
        return f"gw_{name}_{index}"

    def frag(self, type_condition: str | None, directives: str = "", clause: Clause | None = None) -> SelSet:
        key = (type_condition or "", directives)
        sub = self.frags.get(key)
        if sub is None:
            sub = SelSet(self.reserved)
            self.frags[key] = sub
            if directives and clause:
                self.frag_clauses[key] = clause
        return sub

    def conditions(self) -> list[Clause] | None:
        """Clauses of which one must hold for anything here to be selected; None: always selected."""
        out: list[Clause] = []
        for node in self.fields.values():
            if node.clause is None:
                return None
            out.append(node.clause)
        for key, sub in self.frags.items():
            if sub.is_empty():
                continue
            clause = self.frag_clauses.get(key)
            if clause is not None:
                out.append(clause)
                continue
            inner = sub.conditions()
            if inner is None:
                return None
            out.extend(inner)
        return out

    def is_empty(self) -> bool:
        return not self.fields and all(f.is_empty() for f in self.frags.values())

    def variables(self, out: set[str] | None = None) -> set[str]:
        out = set() if out is None else out
        for node in self.fields.values():
            out |= node.variables
            if node.sub is not None:
                node.sub.variables(out)
        for (_, directives), sub in self.frags.items():
            if directives:
                out |= _directive_vars(directives)
            sub.variables(out)
        return out

    def print_compact(self) -> str:
        parts: list[str] = []
        self._print(parts, None, 0)
        return "".join(parts)

    def print_pretty(self, indent: int) -> str:
        parts: list[str] = []
        self._print(parts, "  ", indent)
        return "".join(parts)

    def _print(self, out: list[str], unit: str | None, depth: int) -> None:
        if unit is None:
            out.append("{")
            first = True
            for item in self._items():
                if not first:
                    out.append(" ")
                first = False
                self._print_item(item, out, unit, depth)
            if first:
                out.append("__typename")
            out.append("}")
            return
        pad = unit * (depth + 1)
        out.append("{\n")
        items = self._items()
        if not items:
            out.append(pad + "__typename\n")
        for item in items:
            out.append(pad)
            self._print_item(item, out, unit, depth + 1)
            out.append("\n")
        out.append(unit * depth + "}")

    def _items(self) -> list[FNode | tuple[tuple[str, str], SelSet]]:
        items: list[FNode | tuple[tuple[str, str], SelSet]] = list(self.fields.values())
        items.extend((k, v) for k, v in self.frags.items() if not v.is_empty())
        return items

    @staticmethod
    def _print_item(item: FNode | tuple[tuple[str, str], SelSet], out: list[str], unit: str | None, depth: int) -> None:
        if isinstance(item, FNode):
            if item.key != item.name:
                out.append(f"{item.key}: ")
            out.append(item.name + item.args + item.directives)
            if item.sub is not None:
                out.append(" ")
                item.sub._print(out, unit, depth)
            return
        (condition, directives), sub = item
        out.append("..." + (f" on {condition}" if condition else "") + directives + " ")
        sub._print(out, unit, depth)


def _directive_vars(directives: str) -> set[str]:
    out: set[str] = set()
    for part in directives.split("$")[1:]:
        name = ""
        for ch in part:
            if ch.isalnum() or ch == "_":
                name += ch
            else:
                break
        if name:
            out.add(name)
    return out


def _vars_without_directives(node: FNode) -> frozenset[str]:
    used: set[str] = set()
    if node.args:
        used |= _directive_vars(node.args)
    return frozenset(used)
