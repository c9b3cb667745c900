"""deploy/k8s rendered once per session (from a copy with placeholder secrets) and read as objects."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from scripts.k8s_validate import K8S, render_with_placeholders

Obj = dict[str, Any]


class Rendered:
    """The objects of one rendered kustomization, with the look-ups the tests need."""

    def __init__(self, objects: list[Obj]) -> None:
        self.objects = objects

    def of_kind(self, kind: str) -> list[Obj]:
        return [o for o in self.objects if o["kind"] == kind]

    def named(self, kind: str, name: str) -> Obj:
        matches = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(matches) == 1, f"expected one {kind} {name}, got {len(matches)}"
        return matches[0]

    @property
    def deployments(self) -> dict[str, Obj]:
        return {d["metadata"]["name"]: d for d in self.of_kind("Deployment")}

    def config_map(self, name: str) -> dict[str, str]:
        """The data of the ConfigMap `name` (generated names carry a hash suffix)."""
        return dict(self._generated("ConfigMap", name).get("data") or {})

    def secret(self, name: str) -> dict[str, str]:
        data = self._generated("Secret", name).get("data") or {}
        return {k: base64.b64decode(v).decode() for k, v in data.items()}

    def _generated(self, kind: str, name: str) -> Obj:
        matches = [o for o in self.of_kind(kind) if o["metadata"]["name"] in (name, *self._suffixed(kind, name))]
        assert len(matches) == 1, f"expected one {kind} {name}, got {len(matches)}"
        return matches[0]

    def _suffixed(self, kind: str, name: str) -> list[str]:
        return [o["metadata"]["name"] for o in self.of_kind(kind)
                if o["metadata"]["name"].rsplit("-", 1)[0] == name]

    def container_env(self, container: Obj) -> dict[str, str]:
        """The environment a container starts with: its ConfigMaps, then its own entries (Secrets resolved)."""
        env: dict[str, str] = {}
        for source in container.get("envFrom") or []:
            if "configMapRef" in source:
                env.update(self._by_exact_name("ConfigMap", source["configMapRef"]["name"]))
        for entry in container.get("env") or []:
            if "value" in entry:
                env[entry["name"]] = entry["value"]
                continue
            ref = entry["valueFrom"].get("secretKeyRef") or entry["valueFrom"]["configMapKeyRef"]
            kind = "Secret" if "secretKeyRef" in entry["valueFrom"] else "ConfigMap"
            data = self._by_exact_name(kind, ref["name"])
            if ref["key"] in data:
                env[entry["name"]] = data[ref["key"]]
            else:
                assert ref.get("optional"), f"{entry['name']}: {kind} {ref['name']} has no key {ref['key']}"
        return env

    def _by_exact_name(self, kind: str, name: str) -> dict[str, str]:
        obj = self.named(kind, name)
        data = dict(obj.get("data") or {})
        return {k: base64.b64decode(v).decode() for k, v in data.items()} if kind == "Secret" else data


@pytest.fixture(scope="session")
def production() -> Rendered:
    return Rendered(render_with_placeholders(K8S / "overlays" / "production"))


@pytest.fixture(scope="session")
def base() -> Rendered:
    return Rendered(render_with_placeholders(K8S / "base"))
