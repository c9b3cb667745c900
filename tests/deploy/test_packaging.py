"""The wheel carries everything read at run time: it is built, installed into a fresh venv outside the
source tree, and services are started from it (cwd elsewhere, so the sources cannot be imported).

Bounded: the wheel is built with the project venv's setuptools (no build isolation) and installed
with `--no-deps --no-index`; its dependencies come from the project venv's site-packages through a
path entry, which adds no package of ours (the editable install's own .pth is not processed there).
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from subgraphs.kit.embedded_redis import free_port
from subgraphs.kit.events import EventBus
from subgraphs.kit.redis_client import connect_redis
from tests.notifications.support import order_created
from tests.support.mongo import TestMongo
from tests.support.servers import wait_for
from tests.support.tokens import bearer

pytestmark = [pytest.mark.packaging, pytest.mark.timeout(300)]

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "authn", "gateway", "subgraphs", "telemetry")
RUNTIME_DATA = (
    "subgraphs/notifications/templates/_layout.html",
    "subgraphs/notifications/templates/order.created/email.html",
    "subgraphs/notifications/templates/payment.refunded/webhook.txt",
    "gateway/graphiql/examples/01_browse_products.graphql",
    "gateway/graphiql/static/explorer.js",
    "gateway/execution/_merge.c",  # a compiled install's manifest checks the C sources' digests
    "gateway/execution/_representations.c",
    "gateway/execution/_response_writer.c",
)


@dataclass(frozen=True)
class Installed:
    wheel: Path
    python: Path
    cwd: Path

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PYTHONPATH", "APP_ENV", "GATEWAY_SUPERGRAPH", "MONGODB_URL", "REDIS_URL")}
        return {**env, **extra}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")
    for name in SOURCES:  # a copy: building in the tree would leave build/ and egg-info behind
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, source / name, ignore=ignore)
        else:
            shutil.copy2(path, source / name)
    dist = work / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist),
          str(source)], cwd=work)
    (wheel,) = dist.glob("supershop-*.whl")
    venv = work / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=work)
    python = venv / "bin" / "python"
    _run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-index",
          str(wheel)], cwd=work)
    purelib = Path(_run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], cwd=work))
    (purelib / "_project_dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    cwd = work / "elsewhere"
    cwd.mkdir()
    return Installed(wheel, python, cwd)


def _run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False)
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout.strip()


def test_the_wheel_holds_the_package_data(installed: Installed) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    missing = [name for name in RUNTIME_DATA if name not in names]
    assert not missing, f"not in the wheel: {missing}"
    for folder in ("subgraphs/notifications/templates", "gateway/graphiql/examples", "gateway/graphiql/static"):
        files = {p.relative_to(ROOT).as_posix() for p in (ROOT / folder).rglob("*") if p.is_file()}
        assert files <= names, f"not in the wheel: {sorted(files - names)}"


def test_imports_come_from_the_installed_wheel(installed: Installed) -> None:
    code = "import authn, gateway, subgraphs.notifications as n; print(gateway.__file__); print(n.__file__)"
    out = _run([str(installed.python), "-c", code], cwd=installed.cwd, env=installed.env())
    venv = installed.python.parent.parent
    assert all(Path(line).is_relative_to(venv) for line in out.splitlines()), out
    assert str(ROOT) not in out


@contextmanager
def _process(installed: Installed, args: list[str], env: dict[str, str], log: Path) -> Iterator[None]:
    with log.open("wb") as out:
        proc = subprocess.Popen([str(installed.python), *args], cwd=installed.cwd, env=env, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            yield
            assert proc.poll() is None, log.read_text()[-3000:]
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _ready(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError(f"{url} was not ready within {timeout}s")


async def test_notifications_from_the_wheel_render_their_templates(
    installed: Installed, redis_url: str, mongo: TestMongo, tmp_path: Path
) -> None:
    port = free_port()
    maildir = tmp_path / "mail"
    env = installed.env(REDIS_URL=redis_url, NOTIFICATIONS_PORT=str(port), NOTIFICATIONS_MAILDIR=str(maildir),
                        LOG_LEVEL="WARNING", **mongo.env("notifications"))
    base = f"http://127.0.0.1:{port}"
    with _process(installed, ["-m", "subgraphs.notifications"], env, tmp_path / "notifications.log"):
        _ready(f"{base}/ready")  # start-up compiles and sample-renders every template
        redis = connect_redis(redis_url)
        try:
            await EventBus(redis).publish(order_created(email="buyer@example.com"))
        finally:
            await redis.aclose()

        async def mailed() -> list[Path]:
            return sorted(maildir.glob("*.eml")) if maildir.is_dir() else []

        (eml,) = await wait_for(mailed, timeout=30, message="the order.created email in the maildir")
        async with httpx.AsyncClient(timeout=10) as http:
            response = await http.post(
                f"{base}/graphql", headers=bearer("u1"),
                json={"query": "query($id: ID!) { notification(id: $id) { template subject body htmlBody } }",
                      "variables": {"id": eml.stem}},
            )
    assert response.status_code == 200, response.text
    notification = response.json()["data"]["notification"]
    assert notification["template"] == "order.created/email"
    assert notification["subject"] == "Supershop: we received your order N-o1"
    assert "2 x T-shirt <M> (TEE-M) at EUR 24.99: EUR 49.98" in notification["body"]
    assert "T-shirt &lt;M&gt;" in notification["htmlBody"]  # the HTML template and its layout


def test_gateway_from_the_wheel_serves_its_explorer(installed: Installed, tmp_path: Path) -> None:
    supergraph = tmp_path / "supergraph.graphql"
    shutil.copy2(ROOT / "tests/gateway/core/fixtures/basic.graphql", supergraph)
    assets = tmp_path / "graphiql"  # stand-ins for the npm files: the page needs them to exist
    from gateway.graphiql.assets import SERVED

    for name in SERVED:
        (assets / "node_modules" / name).parent.mkdir(parents=True, exist_ok=True)
        (assets / "node_modules" / name).write_text("/* stand-in */\n")
    port = free_port()
    env = installed.env(GRAPHIQL_ASSETS_DIR=str(assets))
    base = f"http://127.0.0.1:{port}"
    args = ["-m", "gateway", "serve", "--supergraph", str(supergraph), "--port", str(port)]
    with _process(installed, args, env, tmp_path / "gateway.log"):
        _ready(f"{base}/ready")
        page = httpx.get(f"{base}/graphiql", headers={"accept": "text/html"}, timeout=5)
        script = httpx.get(f"{base}/graphiql/assets/explorer.js", timeout=5)
    assert page.status_code == 200, page.text[:500]
    assert "BrowseProducts" in page.text  # the examples, read from the installed package
    assert script.status_code == 200 and script.text.startswith("// Starts GraphiQL")
