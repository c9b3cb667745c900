"""Composition issues and the exception that carries them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True)
class CompositionIssue:
    """One composition problem, named by an Apollo-style error code."""

    code: str
    message: str
    subgraphs: list[str] = field(default_factory=list)
    coordinate: str | None = None

    def render(self) -> str:
        lines = [f"error[{self.code}]: {self.message}"]
        where = []
        if self.coordinate:
            where.append(self.coordinate)
        if self.subgraphs:
            label = "subgraph" if len(self.subgraphs) == 1 else "subgraphs"
            where.append(f"{label}: {', '.join(self.subgraphs)}")
        if where:
            lines.append(f"  --> {' | '.join(where)}")
        return "\n".join(lines)


class CompositionError(Exception):
    """Raised when subgraphs (or a supergraph config) cannot be composed."""

    def __init__(self, issues: Sequence[CompositionIssue]) -> None:
        self.issues: list[CompositionIssue] = list(issues)
        super().__init__(self.__str__())

    def __str__(self) -> str:
        count = len(self.issues)
        header = f"composition failed with {count} error{'s' if count != 1 else ''}"
        return "\n".join([header, *(issue.render() for issue in self.issues)])

    @property
    def codes(self) -> list[str]:
        return [issue.code for issue in self.issues]


class SubgraphUnavailable(CompositionError):
    """A subgraph's schema could not be fetched (unreachable, not answering 200, no SDL): worth
    retrying, unlike a composition failure of schemas that were all fetched."""

    @property
    def subgraphs(self) -> list[str]:
        return list(dict.fromkeys(name for issue in self.issues for name in issue.subgraphs))


def quote_subgraphs(names: Iterable[str]) -> str:
    """Format subgraph names the way Apollo does: `subgraphs "a", "b" and "c"`."""
    quoted = [f'"{name}"' for name in names]
    if not quoted:
        return "no subgraph"
    if len(quoted) == 1:
        return f"subgraph {quoted[0]}"
    return f"subgraphs {', '.join(quoted[:-1])} and {quoted[-1]}"
