"""Render a kustomization without kustomize: the subset deploy/k8s uses, and nothing more.

    python -m scripts.kustomize_render deploy/k8s/overlays/production > rendered.yaml

kustomize itself is a Go binary (built into kubectl) that is on neither PyPI nor npm, so the tests
(tests/deploy) render deploy/k8s with this, and compare it with `kubectl kustomize` where kubectl is
installed. Supported: `resources` (files and kustomization directories),
`namespace`, `labels` (with `includeSelectors` / `includeTemplates`), `images`, `configMapGenerator`
and `secretGenerator` (`literals`, `envs`, `files`; `behavior` create or merge; `generatorOptions`
`disableNameSuffixHash`), and `patches` (strategic merge or JSON 6902, from `path` or inline, with a
`target` by kind, name and namespace). Anything else in a kustomization is refused
(:class:`Unsupported`), never silently ignored. Generated names get a content hash suffix as with
kustomize (the same idea, not the same digits), and references to them in pod specs and Ingress TLS
are rewritten.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

Obj = dict[str, Any]

SUPPORTED = {
    "apiVersion", "kind", "resources", "namespace", "labels", "images", "configMapGenerator",
    "secretGenerator", "generatorOptions", "patches",
}
CLUSTER_SCOPED = {"Namespace", "ClusterRole", "ClusterRoleBinding", "PersistentVolume", "StorageClass",
                  "CustomResourceDefinition", "PriorityClass", "IngressClass"}
WORKLOADS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}
# strategic-merge keys of the named lists deploy/k8s patches; every other list is replaced
MERGE_KEYS = {"containers": "name", "initContainers": "name", "env": "name", "volumes": "name",
              "volumeMounts": "mountPath", "imagePullSecrets": "name"}


class Unsupported(ValueError):
    """A kustomization uses something this renderer does not implement (use real kustomize)."""


@dataclass
class Resource:
    obj: Obj
    generated: bool = False  # a generator's output: gets the hash suffix, its references are rewritten
    hash_suffix: bool = True

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind", ""))

    @property
    def name(self) -> str:
        return str(self.obj.get("metadata", {}).get("name", ""))

    @property
    def namespace(self) -> str | None:
        namespace = self.obj.get("metadata", {}).get("namespace")
        return None if namespace is None else str(namespace)


def render(directory: Path) -> list[Obj]:
    """The objects `kustomize build directory` would print (in resource order)."""
    resources = _build(directory.resolve())
    _suffix_generated_names(resources)
    return [r.obj for r in resources]


def _load_kustomization(directory: Path) -> Obj:
    for name in ("kustomization.yaml", "kustomization.yml", "Kustomization"):
        path = directory / name
        if path.is_file():
            data = yaml.safe_load(path.read_text()) or {}
            unknown = sorted(set(data) - SUPPORTED)
            if unknown:
                raise Unsupported(f"{path}: not supported here: {', '.join(unknown)}")
            return dict(data)
    raise FileNotFoundError(f"no kustomization.yaml in {directory}")


def _inside(root: Path, relative: str) -> Path:
    """A file a generator or patch reads: kustomize refuses paths outside the kustomization root."""
    path = (root / relative).resolve()
    if root not in path.parents:
        raise Unsupported(f"{relative}: outside the kustomization root {root}")
    return path


def _build(directory: Path) -> list[Resource]:
    kustomization = _load_kustomization(directory)
    resources: list[Resource] = []
    for entry in kustomization.get("resources") or []:
        path = (directory / entry).resolve()
        if path.is_dir():
            resources += _build(path)
        else:
            resources += [Resource(obj) for obj in yaml.safe_load_all(path.read_text()) if obj]
    options = kustomization.get("generatorOptions") or {}
    if set(options) - {"disableNameSuffixHash"}:
        raise Unsupported(f"generatorOptions: only disableNameSuffixHash, got {sorted(options)}")
    for kind, key in (("ConfigMap", "configMapGenerator"), ("Secret", "secretGenerator")):
        for spec in kustomization.get(key) or []:
            _generate(directory, kind, spec, resources, not options.get("disableNameSuffixHash", False))
    for patch in kustomization.get("patches") or []:
        _apply_patch(directory, patch, resources)
    namespace = kustomization.get("namespace")
    if namespace:
        for resource in resources:
            if resource.kind not in CLUSTER_SCOPED:
                resource.obj.setdefault("metadata", {})["namespace"] = namespace
    for label in kustomization.get("labels") or []:
        _apply_labels(label, resources)
    for image in kustomization.get("images") or []:
        _apply_image(image, resources)
    return resources


# --- generators ---------------------------------------------------------------------------------
def _env_file(path: Path) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, sep, value = line.partition("=")
        if not sep:
            raise ValueError(f"{path}: {line!r} is not KEY=VALUE")
        pairs[key.strip()] = value
    return pairs


def _generator_data(directory: Path, spec: Obj) -> dict[str, str]:
    unknown = set(spec) - {"name", "behavior", "literals", "envs", "files", "type", "options"}
    if unknown:
        raise Unsupported(f"generator {spec.get('name')}: not supported here: {sorted(unknown)}")
    data: dict[str, str] = {}
    for literal in spec.get("literals") or []:
        key, sep, value = str(literal).partition("=")
        if not sep:
            raise ValueError(f"generator {spec['name']}: literal {literal!r} is not KEY=VALUE")
        data[key] = value
    for env in spec.get("envs") or []:
        data.update(_env_file(_inside(directory, env)))
    for entry in spec.get("files") or []:
        key, sep, relative = str(entry).partition("=")
        if not sep:
            key, relative = Path(entry).name, entry
        data[key] = _inside(directory, relative).read_text()
    return data


def _generate(directory: Path, kind: str, spec: Obj, resources: list[Resource], hash_suffix: bool) -> None:
    name, behavior = spec["name"], spec.get("behavior", "create")
    data = _generator_data(directory, spec)
    existing = next((r for r in resources if r.generated and r.kind == kind and r.name == name), None)
    if behavior == "create":
        if existing is not None:
            raise ValueError(f"{kind} {name} is generated twice; use behavior: merge or replace")
        obj: Obj = {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, "data": {}}
        if kind == "Secret":
            obj["type"] = spec.get("type", "Opaque")
        resources.append(Resource(obj, generated=True, hash_suffix=hash_suffix))
        existing = resources[-1]
    elif behavior in ("merge", "replace"):
        if existing is None:
            raise ValueError(f"{kind} {name}: behavior {behavior} needs a generator of the same name below")
        if behavior == "replace":
            existing.obj["data"] = {}
    else:
        raise Unsupported(f"{kind} {name}: behavior {behavior!r}")
    if kind == "Secret":
        encoded = {k: base64.b64encode(v.encode()).decode() for k, v in data.items()}
        existing.obj["data"].update(encoded)
    else:
        existing.obj["data"].update(data)


def _content_hash(obj: Obj) -> str:
    """A 10-character suffix from the content, in kustomize's alphabet (no vowels, no 0/1/3)."""
    content = json.dumps({"kind": obj["kind"], "data": obj.get("data", {}), "type": obj.get("type", "")},
                         sort_keys=True)
    digest = hashlib.sha256(content.encode()).hexdigest()[:10]
    return digest.translate(str.maketrans("013ae", "ghkmt"))


def _suffix_generated_names(resources: list[Resource]) -> None:
    renamed: dict[tuple[str, str | None, str], str] = {}
    for resource in resources:
        if resource.generated and resource.hash_suffix:
            new = f"{resource.name}-{_content_hash(resource.obj)}"
            renamed[(resource.kind, resource.namespace, resource.name)] = new
            resource.obj["metadata"]["name"] = new
    for resource in resources:
        namespace = resource.namespace

        def rename(kind: str, name: str, ns: str | None = namespace) -> str:
            return renamed.get((kind, ns, name), name)

        if resource.kind == "Ingress":
            for tls in resource.obj.get("spec", {}).get("tls") or []:
                if "secretName" in tls:
                    tls["secretName"] = rename("Secret", tls["secretName"])
        pod = _pod_spec(resource.obj)
        if pod is not None:
            _rename_in_pod(pod, rename)


def _rename_in_pod(pod: Obj, rename: Any) -> None:
    for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
        for source in container.get("envFrom") or []:
            for field, kind in (("configMapRef", "ConfigMap"), ("secretRef", "Secret")):
                if field in source:
                    source[field]["name"] = rename(kind, source[field]["name"])
        for env in container.get("env") or []:
            value_from = env.get("valueFrom") or {}
            for field, kind in (("configMapKeyRef", "ConfigMap"), ("secretKeyRef", "Secret")):
                if field in value_from:
                    value_from[field]["name"] = rename(kind, value_from[field]["name"])
    for volume in pod.get("volumes") or []:
        if "configMap" in volume:
            volume["configMap"]["name"] = rename("ConfigMap", volume["configMap"]["name"])
        if "secret" in volume:
            volume["secret"]["secretName"] = rename("Secret", volume["secret"]["secretName"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            for field, kind in (("configMap", "ConfigMap"), ("secret", "Secret")):
                if field in source:
                    source[field]["name"] = rename(kind, source[field]["name"])
    for secret in pod.get("imagePullSecrets") or []:
        secret["name"] = rename("Secret", secret["name"])


# --- transformers -------------------------------------------------------------------------------
def _pod_spec(obj: Obj) -> Obj | None:
    if obj.get("kind") in WORKLOADS:
        spec: Obj | None = obj.get("spec", {}).get("template", {}).get("spec")
        return spec
    if obj.get("kind") == "CronJob":
        spec = obj.get("spec", {}).get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec")
        return spec
    if obj.get("kind") == "Pod":
        spec = obj.get("spec")
        return spec
    return None


def _apply_labels(label: Obj, resources: list[Resource]) -> None:
    unknown = set(label) - {"pairs", "includeSelectors", "includeTemplates"}
    if unknown:
        raise Unsupported(f"labels: not supported here: {sorted(unknown)}")
    pairs = {str(k): str(v) for k, v in (label.get("pairs") or {}).items()}
    selectors = bool(label.get("includeSelectors", False))
    templates = selectors or bool(label.get("includeTemplates", False))
    for resource in resources:
        obj = resource.obj
        obj.setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        spec = obj.get("spec") or {}
        if templates and resource.kind in WORKLOADS:
            spec.setdefault("template", {}).setdefault("metadata", {}).setdefault("labels", {}).update(pairs)
        if selectors:
            if resource.kind in WORKLOADS:
                spec.setdefault("selector", {}).setdefault("matchLabels", {}).update(pairs)
            elif resource.kind == "Service" and "selector" in spec:
                spec["selector"].update(pairs)


def _apply_image(image: Obj, resources: list[Resource]) -> None:
    unknown = set(image) - {"name", "newName", "newTag", "digest"}
    if unknown:
        raise Unsupported(f"images: not supported here: {sorted(unknown)}")
    for resource in resources:
        pod = _pod_spec(resource.obj)
        for container in [*(pod or {}).get("containers", []), *(pod or {}).get("initContainers", [])]:
            reference = str(container.get("image", ""))
            name, tag = reference.split("@")[0], ""
            if ":" in name.rsplit("/", 1)[-1]:
                name, tag = name.rsplit(":", 1)
            if name != image["name"]:
                continue
            name = image.get("newName", name)
            if "digest" in image:
                container["image"] = f"{name}@{image['digest']}"
            else:
                tag = str(image.get("newTag", tag))
                container["image"] = f"{name}:{tag}" if tag else name


# --- patches ------------------------------------------------------------------------------------
def _apply_patch(directory: Path, patch: Obj, resources: list[Resource]) -> None:
    unknown = set(patch) - {"path", "patch", "target"}
    if unknown:
        raise Unsupported(f"patches: not supported here: {sorted(unknown)}")
    text = _inside(directory, patch["path"]).read_text() if "path" in patch else str(patch["patch"])
    documents = [d for d in yaml.safe_load_all(text) if d is not None]
    target = patch.get("target")
    if len(documents) == 1 and isinstance(documents[0], list):  # JSON 6902
        if not target:
            raise ValueError("a JSON 6902 patch needs a target")
        matched = [r for r in resources if _matches(r, target)]
        if not matched:
            raise ValueError(f"patch target {target} matches no resource")
        for resource in matched:
            for operation in documents[0]:
                _json_patch(resource.obj, operation)
        return
    for document in documents:
        selector = target or {"kind": document.get("kind"), "name": document.get("metadata", {}).get("name")}
        matched = [r for r in resources if _matches(r, selector)]
        if not matched:
            raise ValueError(f"patch for {selector} matches no resource")
        for resource in matched:
            body = copy.deepcopy(document)
            if target:  # a targeted patch does not rename what it patches
                body.pop("metadata", None)
            resource.obj = _merge(resource.obj, body)


def _matches(resource: Resource, target: Obj) -> bool:
    unknown = set(target) - {"kind", "name", "namespace", "group", "version"}
    if unknown:
        raise Unsupported(f"patch target: not supported here: {sorted(unknown)}")
    return all(
        target.get(field) in (None, value)
        for field, value in (("kind", resource.kind), ("name", resource.name), ("namespace", resource.namespace))
    )


def _merge(base: Any, patch: Any, field: str = "") -> Any:
    """A strategic merge patch: maps merge (null deletes), named lists merge by key, lists replace."""
    if isinstance(patch, dict):
        if any(str(k).startswith("$") for k in patch):
            raise Unsupported(f"strategic-merge directives ({sorted(patch)}) are not supported here")
        merged = dict(base) if isinstance(base, dict) else {}
        for key, value in patch.items():
            if value is None:
                merged.pop(key, None)
            else:
                merged[key] = _merge(merged.get(key), value, key)
        return merged
    if isinstance(patch, list) and isinstance(base, list):
        key = MERGE_KEYS.get(field)
        if field == "ports" and all(isinstance(p, dict) for p in patch):
            key = "containerPort" if any("containerPort" in p for p in [*base, *patch]) else "port"
        if key is None:
            return copy.deepcopy(patch)
        merged_list = [dict(item) for item in base]
        for item in patch:
            index = next((i for i, old in enumerate(merged_list) if old.get(key) == item.get(key)), None)
            if index is None:
                merged_list.append(copy.deepcopy(item))
            else:
                merged_list[index] = _merge(merged_list[index], item)
        return merged_list
    return copy.deepcopy(patch)


def _json_patch(obj: Obj, operation: Obj) -> None:
    op, path = operation["op"], operation["path"]
    if op not in ("add", "remove", "replace"):
        raise Unsupported(f"JSON 6902 op {op!r}")
    parts = [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]
    parent: Any = obj
    for part in parts[:-1]:
        parent = parent[int(part)] if isinstance(parent, list) else parent[part]
    last = parts[-1]
    if isinstance(parent, list):
        if op == "add":
            parent.insert(len(parent) if last == "-" else int(last), operation["value"])
        elif op == "remove":
            del parent[int(last)]
        else:
            parent[int(last)] = operation["value"]
    elif op == "remove":
        del parent[last]
    else:
        if op == "replace" and last not in parent:
            raise ValueError(f"JSON 6902 replace: {path} does not exist")
        parent[last] = operation["value"]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m scripts.kustomize_render DIRECTORY", file=sys.stderr)
        return 2
    try:
        objects = render(Path(args[0]))
    except (OSError, ValueError) as exc:  # a missing secret file, a bad or unsupported kustomization
        print(f"kustomize_render: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(yaml.safe_dump_all(objects, sort_keys=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
