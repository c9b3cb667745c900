"""deploy/k8s: valid against the pinned Kubernetes schema, and consistent with the stack it runs."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from authn.appenv import InsecureConfiguration
from gateway.config import Settings as GatewaySettings
from scripts.k8s_validate import K8S, ROOT, fill_placeholder_secrets, validate
from scripts.kustomize_render import render
from scripts.stack import has_worker, subgraph_names
from subgraphs.kit.serve import GRACEFUL_SHUTDOWN_SECONDS
from subgraphs.kit.settings import Settings
from tests.deploy.conftest import Rendered

Obj = dict[str, Any]
MARGIN_SECONDS = 5
WORKER_MODULE = "subgraphs.kit.worker_process"


def containers(deployment: Obj) -> list[Obj]:
    return list(deployment["spec"]["template"]["spec"]["containers"])


def pod_spec(deployment: Obj) -> Obj:
    return dict(deployment["spec"]["template"]["spec"])


def serves_http(deployment: Obj) -> bool:
    return any(c.get("ports") for c in containers(deployment))


def cpu_millis(quantity: str | int) -> float:
    text = str(quantity)
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def mebibytes(quantity: str) -> float:
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024}
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi)", quantity)
    assert match, f"unexpected memory quantity {quantity!r}"
    return float(match.group(1)) * units[match.group(2)]


@pytest.mark.parametrize("fixture", ["base", "production"])
def test_every_rendered_object_validates_against_the_kubernetes_schema(fixture: str, request: Any) -> None:
    rendered: Rendered = request.getfixturevalue(fixture)
    assert len(rendered.objects) > 20
    assert validate(rendered.objects) == []


def _broken_copy(tmp_path: Path, old: str, new: str) -> list[Obj]:
    copy = tmp_path / "k8s"
    shutil.copytree(K8S, copy)
    fill_placeholder_secrets(copy / "overlays" / "production" / "secrets")
    manifest = copy / "base" / "gateway.yaml"
    text = manifest.read_text()
    assert old in text
    manifest.write_text(text.replace(old, new, 1))
    return render(copy / "overlays" / "production")


@pytest.mark.parametrize(("old", "new", "complaint"), [
    ("readinessProbe:", "readinesProbe:", "'readinesProbe' was unexpected"),  # a misspelt field
    ("failureThreshold: 60", "failureThreshold: sixty", "'sixty' is not of type 'integer'"),
    ("apiVersion: apps/v1", "apiVersion: apps/v2", "Couldn't find schema"),
])
def test_a_broken_manifest_fails_validation(tmp_path: Path, old: str, new: str, complaint: str) -> None:
    problems = validate(_broken_copy(tmp_path, old, new))
    assert len(problems) == 1 and complaint in problems[0], problems
    assert problems[0].startswith("Deployment/gateway")


def test_a_deployment_runs_each_process_of_the_stack(production: Rendered) -> None:
    commands = {name: containers(d)[0]["command"] for name, d in production.deployments.items()}
    expected = {name: ["python", "-m", f"subgraphs.{name}"] for name in subgraph_names()}
    expected |= {f"{name}-worker": ["python", "-m", WORKER_MODULE, f"subgraphs.{name}.worker.WorkerSettings"]
                 for name in subgraph_names() if has_worker(name)}
    gateway = commands.pop("gateway")
    assert commands == expected
    assert gateway[:5] == ["python", "-m", "gateway", "serve", "--config"]
    assert set(expected) >= {"payments-worker", "notifications-worker", "orders-worker"}


def test_every_deployment_has_probes_resources_and_a_non_root_read_only_container(production: Rendered) -> None:
    for name, deployment in production.deployments.items():
        pod = pod_spec(deployment)
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod["automountServiceAccountToken"] is False, name
        tmp = {v["name"] for v in pod["volumes"] if "emptyDir" in v}
        for container in containers(deployment):
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{name}: no {probe}"
            requests, limits = container["resources"]["requests"], container["resources"]["limits"]
            assert cpu_millis(requests["cpu"]) <= cpu_millis(limits["cpu"]), name
            assert mebibytes(requests["memory"]) <= mebibytes(limits["memory"]), name
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True, name
            assert context["allowPrivilegeEscalation"] is False, name
            assert context["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
            assert mounts.get("/tmp") in tmp, f"{name}: /tmp is not a writable emptyDir"
            env = production.container_env(container)
            assert env.get("TMPDIR") == "/tmp" and env.get("HOME") == "/tmp", name
            maildir = env.get("NOTIFICATIONS_MAILDIR")
            if name.startswith("notifications"):
                assert mounts.get(maildir or "") in tmp, f"{name}: the maildir is not writable"


def test_http_probes_ask_ready_and_health_on_the_served_port(production: Rendered) -> None:
    for name, deployment in production.deployments.items():
        if not serves_http(deployment):
            continue
        container = containers(deployment)[0]
        ports = {p["name"] for p in container["ports"]}
        for probe, path in (("startupProbe", "/ready"), ("readinessProbe", "/ready"), ("livenessProbe", "/health")):
            get = container[probe]["httpGet"]
            assert (get["path"], get["port"] in ports) == (path, True), f"{name} {probe}"


def test_workers_check_their_own_queue_with_arq(production: Rendered) -> None:
    workers = {n: d for n, d in production.deployments.items() if not serves_http(d)}
    assert set(workers) == {f"{n}-worker" for n in subgraph_names() if has_worker(n)}
    for name, deployment in workers.items():
        container = containers(deployment)[0]
        settings = container["command"][-1]
        for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
            assert container[probe]["exec"]["command"] == ["arq", "--check", settings], f"{name} {probe}"
            assert container[probe]["timeoutSeconds"] >= 5, f"{name}: a Python start-up needs time"


def test_termination_grace_covers_prestop_and_the_drain(production: Rendered) -> None:
    for name, deployment in production.deployments.items():
        pod, container = pod_spec(deployment), containers(deployment)[0]
        grace = pod["terminationGracePeriodSeconds"]
        if serves_http(deployment):
            command = container["lifecycle"]["preStop"]["exec"]["command"]
            assert command[0] == "sleep", name
            assert grace >= int(command[1]) + GRACEFUL_SHUTDOWN_SECONDS + MARGIN_SECONDS, name
        else:
            assert "lifecycle" not in container, f"{name}: no traffic to wait out; SIGTERM starts the drain"
            drain = float(production.container_env(container)["WORKER_SHUTDOWN_GRACE_SECONDS"])
            assert grace >= drain + MARGIN_SECONDS, name


def test_each_hpa_targets_an_existing_deployment(production: Rendered) -> None:
    deployments = production.deployments
    targets = set()
    for hpa in production.of_kind("HorizontalPodAutoscaler"):
        ref = hpa["spec"]["scaleTargetRef"]
        assert (ref["apiVersion"], ref["kind"]) == ("apps/v1", "Deployment")
        assert ref["name"] in deployments, f"HPA {hpa['metadata']['name']} targets no Deployment"
        target = deployments[ref["name"]]
        assert "replicas" not in target["spec"], f"{ref['name']}: the HPA owns replicas"
        assert all("cpu" in c["resources"]["requests"] for c in containers(target))
        assert 1 <= hpa["spec"]["minReplicas"] <= hpa["spec"]["maxReplicas"]
        targets.add(ref["name"])
    assert targets == {"gateway", "products", "orders", "payments-worker"}


def test_each_deployment_has_a_disruption_budget_selecting_its_pods(production: Rendered) -> None:
    budgets = production.of_kind("PodDisruptionBudget")
    for name, deployment in production.deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        selecting = [b for b in budgets if b["spec"]["selector"]["matchLabels"].items() <= labels.items()]
        assert len(selecting) == 1, f"{name}: {len(selecting)} budgets"
        assert selecting[0]["spec"]["maxUnavailable"] == 1


def test_each_service_selects_the_pods_of_one_deployment_on_a_served_port(production: Rendered) -> None:
    served = set()
    for service in production.of_kind("Service"):
        spec, name = service["spec"], service["metadata"]["name"]
        if spec.get("type") == "ExternalName":
            assert "selector" not in spec and name in {"mongodb", "redis"}
            continue
        assert spec["type"] == "ClusterIP", f"{name}: only the Ingress exposes anything"
        matching = [d for d in production.deployments.values()
                    if spec["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()]
        assert len(matching) == 1, f"Service {name} selects {len(matching)} Deployments"
        ports = {p["name"] for c in containers(matching[0]) for p in c.get("ports", [])}
        assert {p["targetPort"] for p in spec["ports"]} <= ports, name
        served.add(matching[0]["metadata"]["name"])
    assert served == {n for n, d in production.deployments.items() if serves_http(d)}


def _service_ports(rendered: Rendered) -> dict[str, set[int]]:
    return {s["metadata"]["name"]: {p["port"] for p in s["spec"].get("ports", [])}
            for s in rendered.of_kind("Service")}


def test_the_gateway_supergraph_config_names_only_existing_services(production: Rendered) -> None:
    gateway = production.deployments["gateway"]
    config_path = Path(containers(gateway)[0]["command"][5])
    mount = next(m for m in containers(gateway)[0]["volumeMounts"] if m["mountPath"] == str(config_path.parent))
    volume = next(v for v in pod_spec(gateway)["volumes"] if v["name"] == mount["name"])
    config = yaml.safe_load(production.named("ConfigMap", volume["configMap"]["name"])["data"][config_path.name])
    assert set(config["subgraphs"]) == set(subgraph_names())  # the same subgraphs as supergraph.yaml
    services = _service_ports(production)
    for name, spec in config["subgraphs"].items():
        for url in (spec["routing_url"], spec["schema"]["subgraph_url"]):
            parts = urlsplit(url)
            assert parts.hostname in services, f"{name}: {url} names no Service"
            assert parts.port in services[parts.hostname] and parts.path == "/graphql", url


def test_every_process_passes_the_production_checks(production: Rendered) -> None:
    services = _service_ports(production)
    for name, deployment in production.deployments.items():
        container = containers(deployment)[0]
        env = production.container_env(container)
        assert env["APP_ENV"] == "production"
        if name == "gateway":
            settings = GatewaySettings.from_env(env)  # raises on development defaults
            assert settings.host == "0.0.0.0" and settings.subgraph_shared_secret
            continue
        service = name.removesuffix("-worker")
        try:
            settings_ = Settings.from_env(service, env)
        except InsecureConfiguration as exc:
            pytest.fail(f"{name}: {exc}")
        assert not settings_.run_worker_in_process, name
        for url in (env["MONGODB_URL"], env["REDIS_URL"]):
            assert urlsplit(url).hostname in services, f"{name}: {url} names no Service"
        if serves_http(deployment):
            assert settings_.host == "0.0.0.0", name
            assert settings_.port == container["ports"][0]["containerPort"], name


def test_only_the_gateway_is_exposed_behind_tls(production: Rendered) -> None:
    (ingress,) = production.of_kind("Ingress")
    backends = {(p["backend"]["service"]["name"], p["backend"]["service"]["port"]["name"])
                for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    assert backends == {("gateway", "http")}
    hosts = {rule["host"] for rule in ingress["spec"]["rules"]}
    assert hosts <= {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]}


def test_the_base_references_secrets_the_overlay_provides_and_commits_none(
        base: Rendered, production: Rendered) -> None:
    assert base.of_kind("Secret") == []
    provided = production.secret("supershop-secrets")
    for deployment in base.deployments.values():
        for entry in containers(deployment)[0]["env"]:
            ref = entry["valueFrom"]["secretKeyRef"]
            assert ref["name"] == "supershop-secrets"
            assert ref["key"] in provided or ref.get("optional"), ref["key"]
    tracked = subprocess.run(["git", "ls-files", "deploy/k8s"], cwd=ROOT, capture_output=True, text=True,
                             check=True).stdout.split()
    secret_files = [f for f in tracked if "/secrets/" in f]
    assert secret_files and all(f.endswith((".example", ".gitignore")) for f in secret_files), secret_files


def test_network_policies_let_in_only_what_each_pod_serves(production: Rendered) -> None:
    policies = production.of_kind("NetworkPolicy")
    assert any(p["spec"]["podSelector"] == {} and "ingress" not in p["spec"] for p in policies), "no default deny"
    for name, deployment in production.deployments.items():
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        rules = [rule for p in policies if p["spec"]["podSelector"].get("matchLabels", {}).items() <= labels.items()
                 and p["spec"]["podSelector"] for rule in p["spec"].get("ingress", [])]
        served = {p["containerPort"] for c in containers(deployment) for p in c.get("ports", [])}
        allowed = {port["port"] for rule in rules for port in rule["ports"]}
        assert served <= allowed, f"{name}: {served - allowed} not let in"
        for rule in rules:
            if name != "gateway":  # the subgraphs answer pods of the shop (the gateway, orders), no one else
                (source,) = rule["from"]
                for caller in ("gateway", "orders"):
                    caller_labels = production.deployments[caller]["spec"]["template"]["metadata"]["labels"]
                    assert source["podSelector"]["matchLabels"].items() <= caller_labels.items(), name
        if not served:
            assert rules == [], f"{name} serves nothing and should take no connection"
