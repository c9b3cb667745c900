"""A MongoDB wire-protocol server on loopback, run by `embedded_mongo` under a Python >= 3.13
interpreter that has `mongoeco` (set up by `scripts/setup_mongo.py` in `.venv-mongo`).

It imports nothing of the project, only the standard library and mongoeco, since it runs in another
interpreter. It prints its connection string on one line once it listens, and stops on SIGTERM or
SIGINT; with --exit-with-stdin also when its standard input closes, so that it never outlives the
process that started it, even one that was SIGKILLed.

    python -P subgraphs/kit/mongo_server.py --engine sqlite --path var/mongo/data.sqlite --port 27017
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path


def _engine(kind: str, path: str | None) -> object:
    if kind == "sqlite":
        from mongoeco.engines.sqlite import SQLiteEngine

        if not path:
            raise SystemExit("--engine sqlite needs --path")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SQLiteEngine(path)
    from mongoeco.engines.memory import MemoryEngine

    return MemoryEngine()


async def _stdin_closed() -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(4096):
        pass


async def serve(engine_kind: str, path: str | None, host: str, port: int, *, watch_stdin: bool) -> None:
    from mongoeco.wire.proxy import AsyncMongoEcoProxyServer

    server = AsyncMongoEcoProxyServer(engine=_engine(engine_kind, path), host=host, port=port)
    address = await server.start()
    print(f"mongodb://{address.host}:{address.port}/?directConnection=true", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    watcher = asyncio.ensure_future(_stdin_closed()) if watch_stdin else None
    if watcher is not None:
        watcher.add_done_callback(lambda _: stop.set())
    try:
        await stop.wait()
    finally:
        if watcher is not None:
            watcher.cancel()
        await server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--engine", choices=["memory", "sqlite"], default="memory")
    parser.add_argument("--path", help="the SQLite file (engine sqlite)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--exit-with-stdin", action="store_true", help="stop when standard input closes")
    args = parser.parse_args(argv)
    asyncio.run(serve(args.engine, args.path, args.host, args.port, watch_stdin=args.exit_with_stdin))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
