"""Fault injection for the simulated providers, from `PAYMENTS_PROVIDER_FAULTS` (JSON), reproducible.

`{"seed": 7, "lose_answer": 0.2, "slow": 0.1, "slow_seconds": 3, "flaky": 0.1}`: each provider call
(charge, refund, lookup, resolve) draws one number from a hash of (seed, provider, operation,
idempotency key, ordinal of that call for that key). The same seed and the same sequence of calls per
key give the same faults in every run and every process, so a chaos run can be replayed. Faults:

- flaky: the provider answers a transient `processing_error` and does nothing;
- lose_answer: the provider does the work (charges, refunds, voids) but its answer never arrives:
  the caller's timeout fires and the outcome is unknown to it;
- slow: the provider does the work and answers after `slow_seconds`.

They add to what the test token chooses (a `pm_card_visa` charge may still be hit by a fault).
"""

from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, fields
from typing import Any

PROBABILITIES = ("flaky", "lose_answer", "slow")


class Fault(enum.Enum):
    FLAKY = "flaky"
    LOSE_ANSWER = "lose_answer"
    SLOW = "slow"


@dataclass(frozen=True)
class FaultPlan:
    seed: int = 0
    flaky: float = 0.0
    lose_answer: float = 0.0
    slow: float = 0.0
    slow_seconds: float = 3.0

    def __post_init__(self) -> None:
        for name in PROBABILITIES:
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"PAYMENTS_PROVIDER_FAULTS: {name} must be a probability in [0, 1]")
        if sum(getattr(self, name) for name in PROBABILITIES) > 1.0:
            raise ValueError("PAYMENTS_PROVIDER_FAULTS: flaky + lose_answer + slow must not exceed 1")
        if self.slow_seconds < 0:
            raise ValueError("PAYMENTS_PROVIDER_FAULTS: slow_seconds must not be negative")

    @property
    def active(self) -> bool:
        return any(getattr(self, name) > 0 for name in PROBABILITIES)

    @classmethod
    def parse(cls, raw: str | None) -> FaultPlan:
        """The plan a JSON object describes (empty or missing: no faults); ValueError says what is wrong."""
        if not raw or not raw.strip():
            return cls()
        try:
            data: Any = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise ValueError(f"PAYMENTS_PROVIDER_FAULTS is not JSON: {exc}") from None
        if not isinstance(data, dict):
            raise ValueError("PAYMENTS_PROVIDER_FAULTS must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"PAYMENTS_PROVIDER_FAULTS: unknown keys {unknown} (known: {sorted(known)})")
        try:
            return cls(seed=int(data.get("seed", 0)), flaky=float(data.get("flaky", 0.0)),
                       lose_answer=float(data.get("lose_answer", 0.0)), slow=float(data.get("slow", 0.0)),
                       slow_seconds=float(data.get("slow_seconds", 3.0)))
        except (TypeError, ValueError) as exc:
            raise ValueError(f"PAYMENTS_PROVIDER_FAULTS: {exc}") from None

    def fault_for(self, provider: str, operation: str, key: str, ordinal: int) -> Fault | None:
        """The fault of the `ordinal`-th call (1-based) of `operation` under `key`, if any."""
        digest = hashlib.sha256(f"{self.seed}\x1f{provider}\x1f{operation}\x1f{key}\x1f{ordinal}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        threshold = 0.0
        for fault in Fault:
            threshold += getattr(self, fault.value)
            if draw < threshold:
                return fault
        return None
