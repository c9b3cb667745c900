"""A private MongoDB wire-protocol server (mongoeco) for when no MONGODB_URL is given.

mongoeco needs Python >= 3.13, so the server runs in its own interpreter: `.venv-mongo/bin/python`
made by `scripts/setup_mongo.py` (or `MONGO_SERVER_PYTHON`). Clients talk to it with the real
drivers (motor, PyMongo) over the real protocol, so unique indexes, conditional updates and
concurrent interleavings behave as on MongoDB. With `path` it keeps its data in a SQLite file; without,
in memory. Where no such interpreter exists, `available()` says why and callers fall back.
"""

from __future__ import annotations

import atexit
import logging
import os
import selectors
import subprocess
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
SERVER_SCRIPT = Path(__file__).resolve().parent / "mongo_server.py"
DEFAULT_INTERPRETER = ROOT / ".venv-mongo" / "bin" / "python"


def server_interpreter() -> Path | None:
    """The interpreter that runs the server: MONGO_SERVER_PYTHON, else the project's .venv-mongo."""
    configured = os.environ.get("MONGO_SERVER_PYTHON")
    candidate = Path(configured) if configured else DEFAULT_INTERPRETER
    return candidate if candidate.exists() else None


def unavailable_reason() -> str | None:
    """None when a server can be started here, else why not (for a log line)."""
    if server_interpreter() is None:
        return (f"no wire-protocol server interpreter at {DEFAULT_INTERPRETER} (run `make setup`, which needs "
                "a Python >= 3.13, or set MONGO_SERVER_PYTHON)")
    return None


def available() -> bool:
    return unavailable_reason() is None


class EmbeddedMongo:
    """Start with `start()`, stop with `stop()`; `url` is its connection string once started."""

    def __init__(self, path: Path | None = None, port: int = 0) -> None:
        self.path = path
        self.port = port
        self._url: str | None = None
        self._process: subprocess.Popen[bytes] | None = None
        # The server's own messages; read back only to explain a failed start.
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115 (lives as long as this object)

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the embedded MongoDB server is not started")
        return self._url

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, timeout: float = 30.0) -> EmbeddedMongo:
        interpreter = server_interpreter()
        if interpreter is None:
            raise RuntimeError(unavailable_reason())
        # -P: the script's own folder (the kit, with a queue.py) must not shadow the standard library.
        args = [str(interpreter), "-P", str(SERVER_SCRIPT), "--exit-with-stdin", "--port", str(self.port)]
        if self.path is not None:
            args += ["--engine", "sqlite", "--path", str(self.path)]
        # Its own session, like the embedded Redis: a Ctrl-C to the owner's group must not stop the
        # database before the owner's shutdown hooks have run. The stdin pipe ties its life to ours.
        self._process = subprocess.Popen(
            args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._errors, start_new_session=True
        )
        atexit.register(self.stop)
        self._url = self._read_url(timeout)
        if self.port == 0:
            self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])
        log.info("started embedded MongoDB wire-protocol server (mongoeco, %s) at %s",
                 f"data in {self.path}" if self.path else "in memory", self.url)
        return self

    def _read_url(self, timeout: float) -> str:
        process = self._process
        assert process is not None and process.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(process.stdout, selectors.EVENT_READ)
            while time.monotonic() < deadline:
                if selector.select(timeout=0.1):
                    line = process.stdout.readline().decode().strip()
                    if line.startswith("mongodb://"):
                        return line
                if process.poll() is not None:
                    break
        self.stop()
        self._errors.seek(0)
        errors = self._errors.read().decode(errors="replace")[-2000:]
        raise RuntimeError(f"the embedded MongoDB server did not start within {timeout:.0f}s {errors}".strip())

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
