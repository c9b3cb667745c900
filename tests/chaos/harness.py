"""One chaos run: a fresh stack of real processes, the seeded plan, quiescence, the checks.

1. Start an SMTP sink, the orders->products fault proxy and the whole stack (every service and every
   worker as its own process, one MongoDB wire-protocol server, a private Redis), with short timeouts
   so that repairs happen within the run.
2. Create the plan's catalog through products' API and read the initial stock back.
3. Run the workload; the plan's faults fire as the orders start.
4. Stop the faults (everything up again, the proxy passes everything through), then poll until the
   system rests or the liveness bound passes.
5. Read every store and check I1-I4.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import shlex
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from scripts.stack import Stack
from subgraphs.kit.embedded_redis import free_port
from subgraphs.kit.service_client import ServiceClient
from tests.chaos.client import CREATE_PRODUCT, GraphQL, Unavailable, admin_token
from tests.chaos.faults import FaultInjector, FaultLog
from tests.chaos.plan import Plan, make_plan
from tests.chaos.proxy import FaultProxy
from tests.chaos.smtp import SmtpSink
from tests.chaos.workload import Workload, WorkloadReport
from tests.support.invariants import SystemState, Violation, check_all, check_liveness
from tests.support.system_state import SERVICES, Databases, read_state, read_stock

log = logging.getLogger(__name__)

# orders' client timeout towards products (the kit ServiceClient's default): a "late" request is held
# longer than this, so orders has given up on it when products receives it.
ORDERS_CLIENT_TIMEOUT = float(inspect.signature(ServiceClient).parameters["timeout"].default)


@dataclass(frozen=True)
class Timing:
    """The run's timeouts: short, so that every repair happens within the run."""

    hold_seconds: float = 20.0
    stale_checkout_seconds: float = 15.0
    # After the faults stop, how long the system may take to rest beyond the hold. It covers the
    # slowest repair: the orders and notifications workers' sweeps, which run once a minute, after
    # their own staleness periods; and a dead consumer's entries, reclaimed after 30 s idle.
    settle_margin_seconds: float = 75.0

    @property
    def liveness_bound(self) -> float:
        return self.hold_seconds + self.stale_checkout_seconds + self.settle_margin_seconds

    def env(self) -> dict[str, str]:
        return {
            "ORDERS_HOLD_TTL_SECONDS": str(self.hold_seconds),
            "ORDERS_STALE_CHECKOUT_SECONDS": str(self.stale_checkout_seconds),
            "PAYMENTS_PROVIDER_TIMEOUT": "2",
            "PAYMENTS_JOB_TIMEOUT": "6",
            "PAYMENTS_SLOW_CHARGE_SECONDS": "3",
            "PAYMENTS_BACKOFF_BASE": "0.3",
            "PAYMENTS_BACKOFF_CAP": "2",
            "PAYMENTS_MAX_PROVIDER_TRIES": "4",
            "PAYMENTS_BREAKER_THRESHOLD": "8",
            "PAYMENTS_BREAKER_WINDOW": "10",
            "PAYMENTS_BREAKER_COOLDOWN": "3",
            "PAYMENTS_RECONCILE_INTERVAL": "3",
            "PAYMENTS_STALE_AFTER": "8",
            "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.5",
            "NOTIFICATIONS_RETRY_MAX_SECONDS": "2",
            "NOTIFICATIONS_STALE_AFTER_SECONDS": "10",
        }


@dataclass
class RunResult:
    plan: Plan
    workload: WorkloadReport
    faults: FaultLog
    proxy_faults: Counter[str]
    violations: list[Violation]
    settled: bool
    settle_seconds: float
    seconds: float
    emails: int = 0
    duplicate_emails: int = 0
    client_anomalies: Counter[str] = field(default_factory=Counter)  # HTTP 500s, untyped errors
    log_dir: Path | None = None
    state: SystemState | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.violations

    def faults_injected(self) -> Counter[str]:
        counts: Counter[str] = Counter()
        for kind, n in self.faults.injected.items():
            counts["kill" if kind.startswith("kill ") else kind] += n
        for kind, n in self.proxy_faults.items():
            counts[f"products {kind.replace('_', ' ')}"] += n
        provider_roles = {"lost_answer": "provider lost answer", "slow": "provider slow", "flaky": "provider flaky",
                          "no_answer": "provider no answer"}
        for script in self.plan.scripts:
            if script.payment in provider_roles:
                counts[provider_roles[script.payment]] += 1
        return counts


def repro_command(plan: Plan) -> str:
    """The one command that runs this plan again."""
    skip = [arg for kind in sorted(plan.skip) for arg in ("--skip", kind)]
    return shlex.join([".venv/bin/python", "-m", "tests.chaos", "--seed", str(plan.seed), "--orders", str(plan.orders),
                       "--customers", str(plan.customers), *skip])


def run_databases(seed: int) -> Databases:
    """Databases of this run alone, so that a shared MONGODB_URL server never mixes two runs' data."""
    prefix = f"chaos{seed}_{uuid.uuid4().hex[:8]}"
    return Databases(products=f"{prefix}_products", orders=f"{prefix}_orders", payments=f"{prefix}_payments",
                     notifications=f"{prefix}_notifications", provider_ledger=f"{prefix}_provider_ledger")


def chaos_env(plan: Plan, timing: Timing, smtp: SmtpSink, mail_dir: Path, databases: Databases) -> dict[str, str]:
    return {
        **timing.env(),
        **{f"{service.upper()}_MONGODB_DATABASE": databases.of(service) for service in SERVICES},
        "PAYMENTS_PROVIDER_LEDGER_DATABASE": databases.provider_ledger,
        "PAYMENTS_PROVIDER_FAULTS": orjson.dumps(plan.provider.__dict__).decode(),
        "SMTP_URL": smtp.url,
        "NOTIFICATIONS_MAILDIR": str(mail_dir),
        "PRODUCTS_SEED_DEMO": "0",
        "LOG_LEVEL": "INFO",
    }


async def run_chaos(seed: int, orders: int, customers: int = 8, *, skip: frozenset[str] = frozenset(),
                    timing: Timing | None = None, log_dir: Path | None = None, say: Callable[[str], None] = print
                    ) -> RunResult:
    timing = timing or Timing()
    emit = say
    plan = make_plan(seed, orders, customers, skip)
    emit(plan.describe())
    started = time.monotonic()
    # Every process's log, the fault timeline (faults.log) and the development maildir.
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix=f"chaos-{seed}-"))
    smtp = SmtpSink().start()
    databases = run_databases(seed)
    stack = Stack.on_free_ports(env=chaos_env(plan, timing, smtp, log_dir / "mail", databases), log_dir=log_dir)
    proxy = FaultProxy(stack.url("products"), seed, plan.proxy, free_port())
    stack.process_env = {name: {"PRODUCTS_URL": proxy.url} for name in ("orders", "orders-worker")}
    await proxy.start()
    api: GraphQL | None = None
    try:
        await asyncio.to_thread(stack.start)
        if not stack.shared_database or stack.redis is None:
            raise RuntimeError("the chaos suite needs one MongoDB for every process (the embedded wire-protocol "
                               "server: `make setup`; or MONGODB_URL) and the stack's own Redis (no REDIS_URL)")
        mongo_url = stack.mongo.url if stack.mongo is not None else os.environ["MONGODB_URL"]
        redis_url = stack.redis.url
        api = GraphQL({name: f"{stack.url(name)}/graphql" for name in ("products", "orders", "payments")},
                      subgraph_secret=stack.subgraph_secret)
        initial = await _create_catalog(api, plan, mongo_url, databases)
        injector = FaultInjector(stack, plan, redis_url)
        injector.start()
        workload = Workload(plan, api, wait_seconds=timing.hold_seconds + 15, on_order_start=injector.on_order_start)
        report = await workload.run()
        await injector.stop()
        proxy.active = False
        emit(f"seed {seed}: workload done after {time.monotonic() - started:.0f}s; waiting for the system to rest "
             f"(at most {timing.liveness_bound:.0f}s)")
        settle_started = time.monotonic()
        state, settled = await quiesce(mongo_url, redis_url, databases, timing.liveness_bound, say=emit)
        settle_seconds = time.monotonic() - settle_started
        log_dir.mkdir(parents=True, exist_ok=True)
        (log_dir / "faults.log").write_text("\n".join([plan.describe(), *injector.log.timeline, ""]))
        violations = check_all(state, initial)
        violations += [Violation("I4", "process-stays-up", f"process {e.process}", "running", f"exited ({e.code})",
                                 "exited on its own during the run; the supervisor restarted it")
                       for e in injector.log.unexpected_exits]
        return RunResult(plan=plan, workload=report, faults=injector.log, proxy_faults=proxy.injected,
                         violations=violations, settled=settled, settle_seconds=settle_seconds,
                         seconds=time.monotonic() - started, emails=smtp.received, duplicate_emails=smtp.duplicates,
                         client_anomalies=api.anomalies, log_dir=log_dir, state=state)
    finally:
        if api is not None:
            await api.aclose()
        await asyncio.to_thread(stack.stop)
        await proxy.stop()
        smtp.stop()


async def _create_catalog(api: GraphQL, plan: Plan, mongo_url: str, databases: Databases) -> dict[str, int]:
    admin = admin_token()
    for product in plan.products:
        variables = {"input": {"name": product.name, "category": "Chaos", "variants": [
            {"sku": v.sku, "price": {"amount": v.price, "currency": "EUR"}, "onHand": v.on_hand}
            for v in product.variants]}}
        for _ in range(10):
            try:
                data = await api.call("products", admin, CREATE_PRODUCT, variables)
            except Unavailable:
                await asyncio.sleep(0.5)
                continue
            if data["createProduct"]["__typename"] != "ProductSuccess":
                raise RuntimeError(f"could not create {product.name}: {data['createProduct']}")
            break
        else:
            raise RuntimeError(f"products never accepted {product.name}")
    stock = await read_stock(mongo_url, databases.products)
    initial = {sku: stock.get(sku, -1) for sku in plan.initial_stock}
    if initial != plan.initial_stock:
        raise RuntimeError(f"the catalog's stock {initial} is not the plan's {plan.initial_stock}")
    return initial


async def quiesce(mongo_url: str, redis_url: str, databases: Databases, bound: float, *, interval: float = 1.0,
                  say: Callable[[str], None] = print, report_every: float = 15.0) -> tuple[SystemState, bool]:
    """Poll the stores until nothing is left to do (no liveness violation), or `bound` seconds passed;
    says what is still in flight every `report_every` seconds.

    One read is no snapshot: it reads products before orders, so a release that lands in between shows
    its order settled beside the hold it has just dropped. The state returned is a read that began
    after a previous read found nothing in flight, so it sees every effect of the work that ended."""
    started = time.monotonic()
    next_report = started + report_every
    rested = False  # the previous read found nothing in flight
    while True:
        state = await read_state(mongo_url, redis_url, databases)
        remaining = check_liveness(state)
        if not remaining:
            if rested:
                return state, True
            rested = True
            continue
        rested = False
        now = time.monotonic()
        if now > started + bound:
            return state, False
        if now >= next_report:
            rules = Counter(v.rule for v in remaining)
            say(f"  still in flight after {now - started:.0f}s: {dict(rules.most_common())}")
            next_report = now + report_every
        await asyncio.sleep(interval)
