"""scripts.kustomize_render: the kustomize subset deploy/k8s uses, on small kustomizations made here."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import pytest
import yaml

from scripts.kustomize_render import Unsupported, render

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
    "spec": {
        "selector": {"matchLabels": {"app": "web"}},
        "template": {"metadata": {"labels": {"app": "web"}}, "spec": {
            "containers": [{"name": "web", "image": "shop", "env": [{"name": "A", "value": "1"}],
                            "envFrom": [{"configMapRef": {"name": "settings"}}]},
                           {"name": "side", "image": "other:2"}],
            "volumes": [{"name": "keys", "secret": {"secretName": "keys"}}],
        }},
    },
}
SERVICE = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
           "spec": {"selector": {"app": "web"}, "ports": [{"port": 80}]}}
NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}}


def write(directory: Path, files: dict[str, Any]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = content if isinstance(content, str) else yaml.safe_dump_all(
            content if isinstance(content, list) and name != "kustomization.yaml" else [content])
        (directory / name).write_text(text)
    return directory


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    write(tmp_path / "base", {
        "kustomization.yaml": {"namespace": "shop", "resources": ["ns.yaml", "web.yaml"],
                               "labels": [{"pairs": {"team": "a"}, "includeSelectors": True}],
                               "configMapGenerator": [{"name": "settings", "literals": ["MODE=base"]}]},
        "ns.yaml": NAMESPACE,
        "web.yaml": [DEPLOYMENT, SERVICE],
    })
    write(tmp_path / "prod" / "secrets", {"keys.env": "# comment\nTOKEN=abc=def\n"})
    return write(tmp_path / "prod", {
        "kustomization.yaml": {
            "namespace": "shop", "resources": ["../base"],
            "images": [{"name": "shop", "newName": "registry.example/shop", "newTag": "1.2"}],
            "configMapGenerator": [{"name": "settings", "behavior": "merge", "literals": ["MODE=prod"]}],
            "secretGenerator": [{"name": "keys", "envs": ["secrets/keys.env"]}],
            "patches": [
                {"path": "more-env.yaml"},
                {"target": {"kind": "Service", "name": "web"},
                 "patch": "- {op: replace, path: /spec/ports/0/port, value: 8080}"},
            ],
        },
        "more-env.yaml": {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
                          "spec": {"template": {"spec": {"containers": [
                              {"name": "web", "env": [{"name": "B", "value": "2"}]}]}}}},
    })


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    (obj,) = [o for o in objects if o["kind"] == kind]
    return obj


def test_generated_names_get_a_hash_and_their_references_follow(tree: Path) -> None:
    objects = render(tree)
    config, secret, deployment = (by_kind(objects, k) for k in ("ConfigMap", "Secret", "Deployment"))
    assert config["metadata"]["name"].startswith("settings-") and config["data"] == {"MODE": "prod"}
    assert base64.b64decode(secret["data"]["TOKEN"]).decode() == "abc=def"
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["envFrom"][0]["configMapRef"]["name"] == config["metadata"]["name"]
    assert pod["volumes"][0]["secret"]["secretName"] == secret["metadata"]["name"]
    base_config = by_kind(render(tree.parent / "base"), "ConfigMap")
    assert base_config["metadata"]["name"] != config["metadata"]["name"]  # other content, other name


def test_namespace_labels_images_and_patches(tree: Path) -> None:
    objects = render(tree)
    namespace, deployment, service = (by_kind(objects, k) for k in ("Namespace", "Deployment", "Service"))
    assert "namespace" not in namespace["metadata"]
    assert {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"} == {"shop"}
    assert deployment["spec"]["selector"]["matchLabels"] == {"app": "web", "team": "a"}
    assert service["spec"]["selector"] == {"app": "web", "team": "a"}
    web, side = deployment["spec"]["template"]["spec"]["containers"]
    assert (web["image"], side["image"]) == ("registry.example/shop:1.2", "other:2")
    assert web["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]  # merged by name
    assert service["spec"]["ports"] == [{"port": 8080}]


@pytest.mark.parametrize(("change", "error"), [
    ({"replicas": [{"name": "web", "count": 3}]}, Unsupported),  # not implemented: refused, not ignored
    ({"secretGenerator": [{"name": "keys", "files": ["../base/web.yaml"]}]}, Unsupported),  # outside root
    ({"secretGenerator": [{"name": "keys", "envs": ["secrets/missing.env"]}]}, FileNotFoundError),
    ({"patches": [{"patch": "{apiVersion: v1, kind: Service, metadata: {name: nothing}}"}]}, ValueError),
])
def test_what_it_cannot_render_faithfully_is_an_error(tree: Path, change: dict[str, Any], error: type) -> None:
    kustomization = yaml.safe_load((tree / "kustomization.yaml").read_text())
    (tree / "kustomization.yaml").write_text(yaml.safe_dump({**kustomization, **change}))
    with pytest.raises(error):
        render(tree)
