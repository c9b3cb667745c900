"""The development token command: `make token` works from a fresh shell (no activated .venv), its
help lists every scope a service checks, and its email claim is what the services read."""

from __future__ import annotations

import ast
import os
import re
import subprocess
from pathlib import Path

import pytest

from authn.scopes import SCOPES
from gateway.__main__ import main
from gateway.auth import decode_dev_token
from subgraphs.kit.auth import Viewer

REPO = Path(__file__).resolve().parents[3]
SCOPE_SHAPE = re.compile(r"^[a-z]+:[a-z]+$")


def checked_scopes() -> set[str]:
    """Scope strings the services and authn assign to a *SCOPE*/*_WRITE constant (what they check)."""
    found: set[str] = set()
    for path in [*REPO.joinpath("subgraphs").rglob("*.py"), *REPO.joinpath("authn").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Assign):
                continue
            names = [t.id for t in node.targets if isinstance(t, ast.Name)]
            if not any("SCOPE" in n or n.endswith("_WRITE") for n in names):
                continue
            for value in ast.walk(node.value):
                if isinstance(value, ast.Constant) and isinstance(value.value, str) and SCOPE_SHAPE.match(value.value):
                    found.add(value.value)
    return found


def test_help_lists_every_scope_a_service_checks(capsys: pytest.CaptureFixture[str]) -> None:
    scopes = checked_scopes()
    assert {"catalog:write", "inventory:write", "orders:admin", "payments:admin", "notifications:admin"} <= scopes
    assert scopes == set(SCOPES)
    with pytest.raises(SystemExit):
        main(["token", "--help"])
    text = capsys.readouterr().out
    for scope in scopes:
        assert scope in text
    assert "--email" in text


def test_email_claim_reaches_the_viewer(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JWT_SECRET", "s3cret")
    args = ["token", "--sub", "alice", "--email", "alice@example.com", "--scope", "orders:admin,catalog:write"]
    assert main(args) == 0
    token = capsys.readouterr().out.strip()
    claims = decode_dev_token(token, "s3cret")
    assert claims["email"] == "alice@example.com" and claims["sub"] == "alice"
    assert claims["scope"] == "orders:admin catalog:write"
    # orders puts viewer.email on OrderCreated (customer_email), which notifications remembers
    viewer = Viewer(user_id="alice", scopes=frozenset(), token=token, claims=claims)
    assert viewer.email == "alice@example.com"


def test_make_token_works_without_an_activated_venv(tmp_path: Path) -> None:
    """As a newcomer types it: make finds .venv itself (-o: do not re-run the pip install step)."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "JWT_SECRET", "APP_ENV")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if ".venv" not in p)
    run = subprocess.run(
        ["make", "-s", "--no-print-directory", "-o", ".venv/.installed", "token", "SUB=carol",
         "SCOPES=orders:admin payments:admin", "EMAIL=carol@example.com"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=60, check=False,
    )
    assert run.returncode == 0, run.stderr
    from authn import DEV_JWT_SECRET

    claims = decode_dev_token(run.stdout.strip(), DEV_JWT_SECRET)
    assert claims["sub"] == "carol" and claims["email"] == "carol@example.com"
    assert claims["scope"] == "orders:admin payments:admin"
