"""`make dev`: run the whole stack on embedded defaults and stop every process it started on Ctrl-C.

One private redis-server (unless REDIS_URL is set) and one MongoDB wire-protocol server (unless
MONGODB_URL is set) are shared by every service and worker, each service with its own database. The
database lives in var/mongo/ and outlives a restart (`make reset` wipes it); the demo catalog is
seeded into an empty one. A worker that exits is started again (as `restart: unless-stopped` does in
compose); any other process that exits stops the stack.

Its subgraphs stay open to direct callers (their GraphiQL works) unless SUBGRAPH_SHARED_SECRET is
set; APP_ENV and the JWT_* settings are passed to every process (docs/security.md).
"""

from __future__ import annotations

import signal
import sys
import time

from scripts.stack import ROOT, Stack

DATA = ROOT / "var" / "mongo" / "data.sqlite"


def main() -> int:
    stack = Stack(mongo_path=DATA, open_subgraphs=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        print("\nThe stack is up (Ctrl-C stops it):", flush=True)
        print(f"  gateway             {stack.gateway_url}")
        print(f"  explorer (GraphiQL) {stack.url('gateway')}/  (examples with a development token filled in)")
        access = " (gateway and services only: SUBGRAPH_SHARED_SECRET)" if stack.subgraph_secret else ""
        for name, _ in stack.processes:
            if name in stack.ports and name != "gateway":
                print(f"  {name:<19} {stack.url(name)}/graphql{access}")
        workers = [name for name, _ in stack.processes if name.endswith("-worker")]
        print(f"  workers             {', '.join(workers) or 'inside each service (in-memory databases)'}")
        print(f"  redis               {stack.redis_url}")
        if stack.mongo is not None:
            print(f"  mongodb             {stack.mongo.url} (data in {DATA.relative_to(ROOT)}; make reset wipes it)")
        print("  a token             make token SUB=alice SCOPES=catalog:write EMAIL=alice@example.com")
        print("  the journey         make demo\n", flush=True)
        while True:
            time.sleep(0.5)
            exited = [name for name, process in stack.processes if process.poll() is not None]
            if not exited:
                continue
            if any(not name.endswith("-worker") for name in exited):
                break
            for name in exited:  # a worker's loop gave up (e.g. Redis went away): start it again, as compose does
                print(f"{name} exited with code {stack.process(name).returncode}; restarting it", flush=True)
                stack.restart(name)
        stopped = [name for name, process in stack.processes if process.poll() is not None]
        print(f"{', '.join(stopped)} exited; stopping the stack", flush=True)
        return 1
    except KeyboardInterrupt:
        return 0
    except RuntimeError as exc:
        print(f"make dev: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


if __name__ == "__main__":
    sys.exit(main())
