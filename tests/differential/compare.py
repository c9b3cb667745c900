"""What two gateways' answers are compared on: ``data`` and the set of ``errors[].path``.

Error messages and extensions are not compared: each gateway words its own (e.g. "HTTP fetch
failed" vs "Subgraph errors redacted"), and the brief of the comparison is what a client can rely
on: which fields are null and where the errors point. An error without a path (a request error) is
kept as the path ``("<request>",)``.

Answers to the same steps done twice (the mutation journeys, one shopper per gateway) differ in
what each run creates: ids, order numbers, event ids, timestamps, cursors. ``Canon`` replaces those
by placeholders numbered in order of first appearance, so two runs compare equal exactly when they
created the same shape of things and linked them the same way.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REQUEST = "<request>"
# Values a run creates anew: placeholders, numbered per key in order of first appearance.
CREATED = frozenset({"id", "orderId", "paymentId", "variantId", "number", "eventId", "statusEventId",
                     "cursor", "startCursor", "endCursor", "providerReference", "recipient"})
# Ids a run created that appear inside text (e.g. an event's reason "payment <uuid> succeeded").
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
# Values that depend on when a run happened: replaced by the key's name.
TIMED = frozenset({"at", "createdAt", "updatedAt", "sentAt", "paymentDueAt", "latencyMs"})


@dataclass(frozen=True)
class Outcome:
    """A GraphQL answer reduced to what is compared."""

    data: Any
    error_paths: frozenset[tuple[str | int, ...]]
    # Shown in a report, never compared.
    messages: tuple[str, ...] = field(default=(), compare=False)

    @classmethod
    def of(cls, body: Mapping[str, Any]) -> Outcome:
        errors = body.get("errors") or ()
        paths = frozenset(tuple(error.get("path") or (REQUEST,)) for error in errors)
        return cls(body.get("data"), paths, tuple(str(error.get("message")) for error in errors))

    def show(self) -> str:
        paths = sorted("/".join(map(str, p)) for p in self.error_paths)
        shown = {"data": self.data, "errorPaths": paths, "messages (not compared)": list(self.messages)}
        return json.dumps(shown, indent=1, sort_keys=True)[:3000]


@dataclass
class Canon:
    """Replaces created and timed values by placeholders (one instance per run)."""

    seen: dict[tuple[str, str], str] = field(default_factory=dict)

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v, key) for v in value]
        if isinstance(value, str) and key not in CREATED:
            value = UUID.sub(lambda match: self._placeholder("uuid", match.group()), value)
        if value is None or key is None:
            return value
        if key in TIMED:
            return f"<{key}>"
        if key in CREATED:
            return self._placeholder(key, str(value))
        return value

    def _placeholder(self, kind: str, value: str) -> str:
        token = (kind, value)
        if token not in self.seen:
            self.seen[token] = f"<{kind}#{sum(1 for k, _ in self.seen if k == kind) + 1}>"
        return self.seen[token]

    def outcome(self, outcome: Outcome) -> Outcome:
        return Outcome(self(outcome.data), outcome.error_paths, outcome.messages)


@dataclass(frozen=True)
class Difference:
    name: str
    ours: Outcome
    theirs: Outcome

    def show(self, theirs_name: str) -> str:
        return f"--- {self.name}\nours:\n{self.ours.show()}\n{theirs_name}:\n{self.theirs.show()}"


def report(differences: Iterable[Difference], theirs_name: str) -> str:
    return "\n".join(d.show(theirs_name) for d in differences)
