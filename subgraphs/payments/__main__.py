"""`python -m subgraphs.payments [serve | worker | reconcile]`."""

from __future__ import annotations

import asyncio
import json
import sys

from subgraphs.kit.serve import run_service
from subgraphs.kit.settings import Settings


def _reconcile() -> int:
    from subgraphs.kit.runtime import ServiceRuntime
    from subgraphs.payments.components import PaymentsCore
    from subgraphs.payments.config import PaymentsConfig
    from subgraphs.payments.reconciliation import Reconciler

    async def run() -> dict[str, object]:
        runtime = ServiceRuntime(Settings.from_env("payments"))
        await runtime.start()
        try:
            assert runtime.redis_url is not None
            core = await PaymentsCore.open(runtime.redis, runtime.db, runtime.redis_url, PaymentsConfig.from_env())
            try:
                report = (await Reconciler(core).run_once()).as_dict()
                await core.relay.relay_once()
                return report
            finally:
                await core.close()
        finally:
            await runtime.stop()

    print(json.dumps(asyncio.run(run())))
    return 0


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "serve"
    if command == "serve":
        from subgraphs.payments.app import create_app

        settings = Settings.from_env("payments")
        run_service(settings, create_app(settings))
        return 0
    if command == "worker":
        from arq.worker import run_worker

        from subgraphs.payments.worker import WorkerSettings

        run_worker(WorkerSettings)  # type: ignore[arg-type]
        return 0
    if command == "reconcile":
        return _reconcile()
    print("usage: python -m subgraphs.payments [serve | worker | reconcile]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
