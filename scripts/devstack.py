"""`make dev`: run the whole stack on embedded defaults and stop every process it started on Ctrl-C.

One private redis-server (unless REDIS_URL is set) is shared by all services, so they can talk
over the event bus; each service keeps its own database (in-memory unless MONGODB_URL is set, in
which case run `python -m subgraphs.products seed` once for the demo catalog).
"""

from __future__ import annotations

import signal
import sys
import time

from scripts.stack import Stack


def main() -> int:
    stack = Stack()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        stack.start()
        print("\nThe stack is up (Ctrl-C stops it):", flush=True)
        print(f"  gateway + GraphiQL  {stack.gateway_url}")
        for name, _ in stack.processes:
            if name != "gateway":
                print(f"  {name:<19} {stack.url(name)}/graphql")
        print(f"  redis               {stack.redis_url}")
        print("  a token:            .venv/bin/python -m gateway token --sub alice --scope catalog:write")
        print("  the journey:        make demo\n", flush=True)
        while stack.running():
            time.sleep(0.5)
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
