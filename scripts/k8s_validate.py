"""Render deploy/k8s and check every object against the Kubernetes schema of a pinned version, offline.

    python -m scripts.k8s_validate                       # base and production overlay
    python -m scripts.k8s_validate deploy/k8s/overlays/production

Strict schemas (kubernetes-validate's `-strict`, no unknown fields), so a misspelt field fails as
well as a wrong type. The production overlay's Secret is made from git-ignored files; where they are
missing, a copy of the tree is rendered with placeholder secrets made from the `*.example` files.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import kubernetes_validate

from scripts.kustomize_render import render

ROOT = Path(__file__).resolve().parent.parent
K8S = ROOT / "deploy" / "k8s"
# The oldest Kubernetes minor still in upstream support when this was pinned; newer servers accept it.
KUBERNETES_VERSION = "1.32.0"
# a throwaway Ed25519 public key (its private half was never kept): only for rendering tests
PLACEHOLDER_PEM = (
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAvlgUXyPzlPIvRaQPvLo7lGfW6yQOrkP6kMPljozgQKk=\n"
    "-----END PUBLIC KEY-----\n"
)


def validate(objects: list[dict[str, Any]], version: str = KUBERNETES_VERSION) -> list[str]:
    """One message per object that fails its schema (empty: all valid)."""
    problems = []
    for obj in objects:
        name = f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = ".".join(str(p) for p in exc.path)
            problems.append(f"{name}: {where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"{name}: {exc.message}")
    return problems


def fill_placeholder_secrets(secrets_dir: Path) -> None:
    """Write each missing secret file from its `.example`, with random values for the empty keys."""
    for example in secrets_dir.glob("*.example"):
        target = example.with_suffix("")
        if target.exists():
            continue
        if target.suffix == ".pem":
            target.write_text(PLACEHOLDER_PEM)
            continue
        lines = []
        for line in example.read_text().splitlines():
            key, sep, value = line.partition("=")
            if sep and not line.startswith("#") and not value:
                value = secrets.token_urlsafe(48)
            lines.append(f"{key}{sep}{value}")
        target.write_text("\n".join(lines) + "\n")


def render_with_placeholders(overlay: Path) -> list[dict[str, Any]]:
    """Render `overlay` from a temporary copy of deploy/k8s whose missing secret files are placeholders."""
    with tempfile.TemporaryDirectory(prefix="k8s-") as scratch:
        copy = Path(scratch) / "k8s"
        shutil.copytree(K8S, copy)
        for secrets_dir in copy.rglob("secrets"):
            fill_placeholder_secrets(secrets_dir)
        return render(copy / overlay.resolve().relative_to(K8S))


def main(argv: list[str] | None = None) -> int:
    targets = [Path(a) for a in (sys.argv[1:] if argv is None else argv)] or [
        K8S / "base", K8S / "overlays" / "production"]
    failed = False
    for target in targets:
        objects = render_with_placeholders(target)
        problems = validate(objects)
        for problem in problems:
            print(f"{target}: {problem}", file=sys.stderr)
        print(f"{target}: {len(objects)} objects, {len(problems)} invalid (Kubernetes {KUBERNETES_VERSION})")
        failed = failed or bool(problems)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
