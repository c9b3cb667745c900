"""The renderer against real kustomize (`kubectl kustomize`), where kubectl is installed: the same
objects, field for field, once the generated names' hash suffixes are set aside (the digits differ
by design) and Secret values are decoded (kubectl wraps long base64 lines)."""

from __future__ import annotations

import base64
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.k8s_validate import K8S, fill_placeholder_secrets
from scripts.kustomize_render import render

KUBECTL = shutil.which("kubectl")
GENERATED = re.compile(r'"(supershop-env|supershop-secrets|supergraph)-[a-z0-9]{10}"')

pytestmark = pytest.mark.skipif(KUBECTL is None, reason="kubectl (with its built-in kustomize) is not installed")


def normalized(objects: list[dict[str, Any]]) -> dict[tuple[str, str], Any]:
    by_id = {}
    for obj in objects:
        if obj["kind"] == "Secret":
            obj = {**obj, "data": {k: base64.b64decode(v).decode() for k, v in obj["data"].items()}}
        text = GENERATED.sub(r'"\1-HASH"', json.dumps(obj, sort_keys=True))
        plain = json.loads(text)
        by_id[(plain["kind"], plain["metadata"]["name"])] = plain
    return by_id


@pytest.mark.parametrize("target", ["base", "overlays/production"])
def test_the_renderer_agrees_with_kubectl_kustomize(tmp_path: Path, target: str) -> None:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    fill_placeholder_secrets(copy / "overlays" / "production" / "secrets")
    assert KUBECTL is not None
    built = subprocess.run([KUBECTL, "kustomize", str(copy / target)], capture_output=True, text=True,
                           timeout=120, check=True).stdout
    theirs = normalized([o for o in yaml.safe_load_all(built) if o])
    ours = normalized(render(copy / target))
    assert sorted(ours) == sorted(theirs)
    for key, obj in theirs.items():
        assert ours[key] == obj, key
