"""Query plan nodes, plus their JSON and Apollo-like text renderings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .operation import Clause


@dataclass(slots=True)
class RepSel:
    """How to project an object of the merged response into (part of) a representation.

    `fields` entries are (data key in the merged response, key in the representation, nested).
    `frags` apply only when the object's `__typename` is in the set.
    """

    fields: list[tuple[str, str, RepSel | None]] = field(default_factory=list)
    frags: list[tuple[frozenset[str], RepSel]] = field(default_factory=list)

    def add(self, data_key: str, rep_key: str, nested: bool) -> RepSel | None:
        for existing in self.fields:
            if existing[0] == data_key:
                return existing[2]
        sub = RepSel() if nested else None
        self.fields.append((data_key, rep_key, sub))
        return sub

    def frag(self, typenames: frozenset[str]) -> RepSel:
        for existing, sub in self.frags:
            if existing == typenames:
                return sub
        sub = RepSel()
        self.frags.append((typenames, sub))
        return sub


@dataclass(slots=True)
class Unalias:
    """Undo the planner's internal aliases at one level of a subgraph's response (`aliasing`):
    `renames` are (key sent, response key); `children` are the levels below, by key sent."""

    renames: list[tuple[str, str]] = field(default_factory=list)
    children: dict[str, Unalias] = field(default_factory=dict)

    def describe(self, prefix: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        out = [{"path": [*prefix, sent], "renameKeyTo": key} for sent, key in self.renames]
        for sent, child in self.children.items():
            out.extend(child.describe((*prefix, sent)))
        return out


@dataclass(frozen=True, slots=True)
class EntityRep:
    """Representation recipe for one runtime `__typename` found at a Flatten path."""

    typename: str  # __typename sent in the representation (an interface for @interfaceObject)
    keys: RepSel  # key fields: a null in them skips the entity
    requires: RepSel  # @requires fields


@dataclass(frozen=True, slots=True)
class ContextValue:
    """A `@fromContext` argument of an entity fetch: the variable `variable` (subgraph type `type`)
    takes, per entity, the value `selection` projects from its ancestor `depth` response keys below
    the root (the nearest position setting the context), read at the projection's key `key`."""

    variable: str
    type: str
    depth: int
    selection: RepSel
    key: str
    path: tuple[str, ...]  # the ancestor's response path ("@" for list levels), for display


@dataclass(slots=True)
class FetchNode:
    id: int
    service: str
    operation: str
    operation_kind: str
    variable_usages: tuple[str, ...]
    selection_text: str  # pretty selection for display
    requires_text: str | None = None
    entity_reps: dict[str, EntityRep] | None = None  # runtime __typename -> recipe (entity fetches)
    # Input variables whose values must be pruned for this subgraph: name -> input type name.
    input_rewrites: dict[str, str] | None = None
    # @skip/@include: the fetch runs only when one clause holds (None: always runs)
    conditions: tuple[Clause, ...] | None = None
    # aliases the planner gave fields that conflict in the subgraph, renamed back in its response
    unalias: Unalias | None = None
    # @fromContext arguments (entity fetches): one fetch per distinct tuple of values
    context_values: tuple[ContextValue, ...] = ()
    # the name `operation` declares (`<client operation>__<subgraph>__<id>`, "" for an anonymous one),
    # sent as the fetch's operationName; not part of the plan's JSON (the operation text shows it)
    operation_name: str = ""
    # entity_reps compiled by the C representation builder, on first use (execution/representations.py)
    compiled_reps: Any = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "Fetch",
            "serviceName": self.service,
            "operationKind": self.operation_kind,
            "variableUsages": list(self.variable_usages),
            "operation": self.operation,
        }
        if self.requires_text is not None:
            out["requires"] = self.requires_text
        if self.input_rewrites:
            out["inputRewrites"] = dict(self.input_rewrites)
        if self.conditions is not None:
            out["conditions"] = self.condition_texts()
        if self.unalias is not None:
            out["outputRewrites"] = self.unalias.describe()
        if self.context_values:
            out["contextRewrites"] = [
                {"kind": "ContextValue", "path": list(cv.path), "key": cv.key, "variable": cv.variable}
                for cv in self.context_values
            ]
        return out

    def condition_texts(self) -> list[str]:
        return [
            " && ".join(("" if want else "!") + "$" + name for name, want in clause) or "false"
            for clause in self.conditions or ()
        ]

    def to_text(self, depth: int) -> list[str]:
        pad = "  " * depth
        condition = ""
        if self.conditions is not None:
            condition = ', if: "' + " || ".join(self.condition_texts()) + '"'
        lines = [f'{pad}Fetch(service: "{self.service}"{condition}) {{']
        inner = "  " * (depth + 1)
        if self.requires_text is not None:
            lines.extend(_indent(self.requires_text + " =>", inner))
        lines.extend(_indent(self.selection_text, inner))
        lines.append(pad + "},")
        return lines


@dataclass(slots=True)
class FlattenNode:
    path: tuple[str, ...]  # response keys, "@" marks list levels (display only)
    node: FetchNode
    keys: tuple[str, ...] = ()  # path without "@", used at run time

    def __post_init__(self) -> None:
        self.keys = tuple(p for p in self.path if p != "@")

    def to_json(self) -> dict[str, Any]:
        return {"kind": "Flatten", "path": list(self.path), "node": self.node.to_json()}

    def to_text(self, depth: int) -> list[str]:
        pad = "  " * depth
        return [
            f'{pad}Flatten(path: "{".".join(self.path)}") {{',
            *self.node.to_text(depth + 1),
            pad + "},",
        ]


@dataclass(slots=True)
class SequenceNode:
    nodes: list[PlanNode]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "Sequence", "nodes": [n.to_json() for n in self.nodes]}

    def to_text(self, depth: int) -> list[str]:
        return _block_text("Sequence", self.nodes, depth)


@dataclass(slots=True)
class ParallelNode:
    nodes: list[PlanNode]

    def to_json(self) -> dict[str, Any]:
        return {"kind": "Parallel", "nodes": [n.to_json() for n in self.nodes]}

    def to_text(self, depth: int) -> list[str]:
        return _block_text("Parallel", self.nodes, depth)


PlanNode = FetchNode | FlattenNode | SequenceNode | ParallelNode


def _block_text(kind: str, nodes: list[PlanNode], depth: int) -> list[str]:
    """`Sequence {` / `Parallel {`, the children one level deeper, `},`."""
    pad = "  " * depth
    lines = [pad + kind + " {"]
    for node in nodes:
        lines.extend(node.to_text(depth + 1))
    lines.append(pad + "},")
    return lines


@dataclass(slots=True)
class DeferredNode:
    """One deferred part: fetched after the part it depends on (None: the primary), from whose data
    its entity fetches take their representations; delivered at `path` (response keys, "@": lists)."""

    id: int
    label: str | None
    path: tuple[str, ...]
    depends: int | None
    node: PlanNode | None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "path": list(self.path),
            "depends": self.depends,
            "node": self.node.to_json() if self.node else None,
        }

    def to_text(self, depth: int) -> list[str]:
        pad = "  " * depth
        label = f', label: "{self.label}"' if self.label is not None else ""
        depends = "" if self.depends is None else f"depends: {self.depends}, "
        head = f'{pad}Deferred({depends}path: "{".".join(self.path)}"{label})'
        if self.node is None:
            return [head + " {", pad + "},"]
        return [head + " {", *self.node.to_text(depth + 1), pad + "},"]


@dataclass(slots=True)
class QueryPlan:
    node: PlanNode | None
    deferred: tuple[DeferredNode, ...] = ()  # @defer parts, run after the primary `node`
    # the executor's dependency graph of `node` (gateway.execution.schedule), made on its first run
    schedule: Any = field(default=None, compare=False, repr=False)
    # the subgraphs it fetches from (gateway.runtime.plan_subgraphs), found on the first cached request
    subgraphs: tuple[str, ...] | None = field(default=None, compare=False, repr=False)

    def to_json(self) -> dict[str, Any]:
        primary = self.node.to_json() if self.node else None
        if not self.deferred:
            return {"kind": "QueryPlan", "node": primary}
        node = {"kind": "Defer", "primary": primary, "deferred": [d.to_json() for d in self.deferred]}
        return {"kind": "QueryPlan", "node": node}

    def to_text(self) -> str:
        if self.deferred:
            lines = ["QueryPlan {", "  Defer {", "    Primary {"]
            if self.node is not None:
                lines.extend(self.node.to_text(3))
            lines.extend(["    },", "    ["])
            for deferred in self.deferred:
                lines.extend(deferred.to_text(3))
            lines.extend(["    ]", "  },", "}"])
            return "\n".join(lines)
        if self.node is None:
            return "QueryPlan {\n}"
        lines = ["QueryPlan {", *self.node.to_text(1), "}"]
        return "\n".join(lines)

    def fetches(self) -> list[FetchNode]:
        out: list[FetchNode] = []

        def walk(node: PlanNode) -> None:
            if isinstance(node, FetchNode):
                out.append(node)
            elif isinstance(node, FlattenNode):
                out.append(node.node)
            else:
                for child in node.nodes:
                    walk(child)

        if self.node is not None:
            walk(self.node)
        for deferred in self.deferred:
            if deferred.node is not None:
                walk(deferred.node)
        return out


def _indent(text: str, pad: str) -> list[str]:
    return [pad + line for line in text.split("\n")]


# A prepared operation's plans are kept per (override labels in force, @defer occurrences in force).
PlanKey = tuple[frozenset[str], frozenset[int]]
