"""The seeded plan of a chaos run: the catalog, what every customer does, and every fault.

One `random.Random(seed)` decides everything, in a fixed order, before anything runs; the run then
follows the plan. Faults are triggered by the workload's progress (when the n-th order starts), not by
the clock, so a busy machine shifts them less. The interleaving of concurrent requests is up to the
machine: a seed reproduces the same plan, not the same microsecond schedule.
"""

from __future__ import annotations

import dataclasses
import random
from collections import Counter
from dataclasses import asdict, dataclass

from tests.chaos.proxy import ProxyFaults

# The processes a kill may hit: every service and every worker (the workload talks to the services
# directly, so the gateway is not on its path).
KILLABLE = ("products", "orders", "payments", "notifications", "orders-worker", "payments-worker",
            "notifications-worker")

# What a customer pays with (roles; `tests.chaos.payment_methods` maps them to provider tokens).
PAYMENT_ROLES: tuple[tuple[str, float], ...] = (
    ("ok", 0.55),
    ("declined", 0.08),  # final decline: the order is cancelled
    ("soft_decline", 0.08),  # the customer may retry with another card
    ("lost_answer", 0.08),  # the provider charges, its answer is lost
    ("slow", 0.07),  # answers after the payments timeout
    ("flaky", 0.07),  # fails a few times, then succeeds
    ("no_answer", 0.04),  # never answers: payments gives up (not final), the hold expires
    ("wallet_ok", 0.03),
)


@dataclass(frozen=True)
class VariantPlan:
    sku: str
    price: int
    on_hand: int


@dataclass(frozen=True)
class ProductPlan:
    name: str
    variants: tuple[VariantPlan, ...]


@dataclass(frozen=True)
class OrderScript:
    """What one customer does for one order."""

    index: int
    customer: str
    key: str  # the idempotency key
    lines: tuple[tuple[str, int], ...]
    payment: str  # a role of PAYMENT_ROLES
    resubmit: bool  # places the same order again with the same key after it was placed
    cancel: str  # "no" | "now" | "later" (races the payment)
    retry_payment: bool  # after a soft decline, retry with a good card
    after_paid: str  # "nothing" | "fulfill" | "refund_full" | "refund_partial" | "refund_twice"


@dataclass(frozen=True)
class Fault:
    """Fired when the workload starts order number `at_order`."""

    at_order: int
    kind: str  # "kill" | "redis_restart" | "duplicate_events"
    target: str = ""  # the process for a kill
    down_seconds: float = 0.0  # how long it stays down before it is started again
    count: int = 0  # copies for duplicate_events


@dataclass(frozen=True)
class ProviderFaults:
    """For the payments service's simulated provider (env PAYMENTS_PROVIDER_FAULTS)."""

    seed: int
    lose_answer: float
    slow: float
    slow_seconds: float
    flaky: float


@dataclass(frozen=True)
class Plan:
    seed: int
    orders: int
    customers: int
    products: tuple[ProductPlan, ...]
    scripts: tuple[OrderScript, ...]
    faults: tuple[Fault, ...]
    proxy: ProxyFaults
    provider: ProviderFaults
    skip: frozenset[str] = frozenset()

    @property
    def initial_stock(self) -> dict[str, int]:
        return {v.sku: v.on_hand for p in self.products for v in p.variants}

    def fault_counts(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for fault in self.faults:
            counts[f"kill {fault.target}" if fault.kind == "kill" else fault.kind] += 1
        return counts

    def describe(self) -> str:
        """The plan as printed before a run."""
        variants = [v for p in self.products for v in p.variants]
        lines = [
            f"plan for seed {self.seed}: {self.orders} orders by {self.customers} concurrent customers, "
            f"{len(variants)} variants ({sum(v.on_hand for v in variants)} units)"
            + (f", without {', '.join(sorted(self.skip))}" if self.skip else ""),
            f"  payments: {dict(sorted(Counter(s.payment for s in self.scripts).items()))}",
            f"  cancels: {dict(sorted(Counter(s.cancel for s in self.scripts).items()))}, "
            f"resubmits: {sum(s.resubmit for s in self.scripts)}, "
            f"after paid: {dict(sorted(Counter(s.after_paid for s in self.scripts).items()))}",
            f"  orders<->products proxy: {self.proxy.as_dict()}",
            f"  provider faults: {asdict(self.provider)}",
        ]
        for fault in self.faults:
            what = {"kill": f"SIGKILL {fault.target}, down {fault.down_seconds:.1f}s",
                    "redis_restart": f"restart Redis, down {fault.down_seconds:.1f}s",
                    "duplicate_events": f"re-add {fault.count} published events to the stream"}[fault.kind]
            lines.append(f"  at order {fault.at_order:>4}: {what}")
        return "\n".join(lines)


# Kinds of fault a run may leave out (`--skip`), to tell which one a violation needs.
FAULT_KINDS = ("kill", "redis_restart", "duplicate_events", "proxy", "provider")
FAULTY_PAYMENT_ROLES = frozenset({"lost_answer", "slow", "flaky", "no_answer"})


def make_plan(seed: int, orders: int, customers: int = 8, skip: frozenset[str] = frozenset()) -> Plan:
    """The plan of a seed. Skipped kinds are removed after the whole plan is drawn, so the rest of the
    plan is the same as without `skip`."""
    unknown = skip - set(FAULT_KINDS)
    if unknown:
        raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {', '.join(FAULT_KINDS)}")
    plan = _draw(seed, orders, customers)
    return dataclasses.replace(
        plan,
        faults=tuple(f for f in plan.faults if f.kind not in skip),
        proxy=ProxyFaults() if "proxy" in skip else plan.proxy,
        provider=dataclasses.replace(plan.provider, lose_answer=0, slow=0, flaky=0) if "provider" in skip
        else plan.provider,
        scripts=tuple(dataclasses.replace(s, payment="ok") if "provider" in skip and s.payment in FAULTY_PAYMENT_ROLES
                      else s for s in plan.scripts),
        skip=skip,
    )


def _draw(seed: int, orders: int, customers: int) -> Plan:
    rng = random.Random(seed)
    products = _catalog(rng, seed, orders)
    skus = [v.sku for p in products for v in p.variants]
    scripts = tuple(_script(rng, seed, i, skus, customers) for i in range(orders))
    faults = _faults(rng, orders)
    proxy = ProxyFaults(lose_answer=rng.uniform(0.05, 0.15), late_request=rng.uniform(0.0, 0.03),
                        slow=rng.uniform(0.02, 0.08), slow_seconds=round(rng.uniform(0.3, 1.5), 2))
    provider = ProviderFaults(seed=rng.randrange(1 << 30), lose_answer=round(rng.uniform(0.05, 0.2), 3),
                              slow=round(rng.uniform(0.02, 0.1), 3), slow_seconds=3.0,
                              flaky=round(rng.uniform(0.05, 0.15), 3))
    return Plan(seed, orders, customers, products, scripts, faults, proxy, provider)


def _catalog(rng: random.Random, seed: int, orders: int) -> tuple[ProductPlan, ...]:
    """Few variants with little stock, so orders compete for units: an order asks for about 2.7 units
    (1.3 lines of 2 units), and the catalog holds about 2 units per order."""
    count = max(2, min(12, orders // 8))
    mean_units = max(3, round(2 * orders / (count * 2)))
    products = []
    for p in range(count):
        variants = tuple(
            VariantPlan(sku=f"CHAOS-{seed}-{p}-{v}", price=rng.randrange(100, 10_000),
                        on_hand=rng.randint(max(1, mean_units * 2 // 3), mean_units * 4 // 3))
            for v in range(2)
        )
        products.append(ProductPlan(name=f"Chaos product {seed}-{p}", variants=variants))
    return tuple(products)


def _weighted(rng: random.Random, choices: tuple[tuple[str, float], ...]) -> str:
    roll = rng.random() * sum(weight for _, weight in choices)
    for name, weight in choices:
        if roll < weight:
            return name
        roll -= weight
    return choices[-1][0]


def _script(rng: random.Random, seed: int, index: int, skus: list[str], customers: int) -> OrderScript:
    lines = tuple(sorted((sku, rng.randint(1, 3)) for sku in rng.sample(skus, rng.choice((1, 1, 2)))))
    payment = _weighted(rng, PAYMENT_ROLES)
    return OrderScript(
        index=index,
        customer=f"chaos-{seed}-customer-{rng.randrange(customers * 3)}",
        key=f"chaos-{seed}-order-{index}",
        lines=lines,
        payment=payment,
        resubmit=rng.random() < 0.15,
        cancel=_weighted(rng, (("no", 0.8), ("now", 0.1), ("later", 0.1))),
        retry_payment=payment == "soft_decline" and rng.random() < 0.8,
        after_paid=_weighted(rng, (("nothing", 0.6), ("fulfill", 0.15), ("refund_full", 0.1),
                                   ("refund_partial", 0.1), ("refund_twice", 0.05))),
    )


def _faults(rng: random.Random, orders: int) -> tuple[Fault, ...]:
    """About one kill per 8 orders over every process, one or two Redis restarts, duplicate rounds."""
    faults = []
    kills = max(len(KILLABLE) // 2, orders // 8)
    targets = list(KILLABLE) * (kills // len(KILLABLE) + 1)
    rng.shuffle(targets)
    for target in targets[:kills]:
        faults.append(Fault(at_order=rng.randrange(1, max(2, orders - 2)), kind="kill", target=target,
                            down_seconds=round(rng.uniform(0.2, 2.0), 2)))
    for _ in range(1 + (orders >= 200) + (rng.random() < 0.3)):
        faults.append(Fault(at_order=rng.randrange(orders // 4, max(orders // 4 + 1, orders - 2)),
                            kind="redis_restart", down_seconds=round(rng.uniform(0.3, 2.0), 2)))
    for _ in range(max(2, orders // 15)):
        faults.append(Fault(at_order=rng.randrange(1, orders), kind="duplicate_events", count=rng.randint(3, 10)))
    return tuple(sorted(faults, key=lambda f: (f.at_order, f.kind, f.target)))
