"""compose.yaml against the Compose specification's JSON schema (the copy check-jsonschema ships, a
pinned dev dependency) and against this project's deployment rules (docs/deploy.md)."""

from __future__ import annotations

import importlib.resources
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from gateway.config import Settings as GatewaySettings
from subgraphs.kit.production import service_problems
from subgraphs.kit.settings import DEFAULT_PORTS

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load(COMPOSE_TEXT)  # YAML merge keys resolved, as compose does
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
SUBGRAPHS = list(yaml.safe_load((ROOT / "supergraph.yaml").read_text())["subgraphs"])
# Our image (built from the Dockerfile): the gateway, the services, their workers, one-shot jobs.
APP = {name: spec for name, spec in SERVICES.items() if "build" in spec}
LONG_RUNNING = {name: spec for name, spec in APP.items() if spec.get("restart") != "no"}
_REFERENCE = re.compile(r"\$\{(?P<name>\w+)(?P<op>:?[-?+])?(?P<rest>[^}]*)\}")
_SECRET = re.compile(r"SECRET|PASSWORD|_KEY$")
OBSERVABILITY_UIS = ("grafana", "prometheus", "jaeger")


def _schema() -> dict[str, Any]:
    path = importlib.resources.files("check_jsonschema") / "builtin_schemas/vendor/compose-spec.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


def _environment(spec: dict[str, Any]) -> dict[str, str]:
    env = spec.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(k): str(v) for k, v in env.items()}


def _interpolated(value: str) -> str:
    """`value` as compose makes it with every variable set (to a sample of its name)."""
    return _REFERENCE.sub(lambda match: f"sample-{match['name'].lower()}", value)


def test_compose_matches_the_compose_specification() -> None:
    schema = _schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = sorted(validator.iter_errors(COMPOSE), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:10])


def test_every_secret_is_required() -> None:
    secrets = set()
    for match in _REFERENCE.finditer(COMPOSE_TEXT):
        if _SECRET.search(match["name"]):
            secrets.add(match["name"])
            assert match["op"] == ":?" and match["rest"].strip(), f"${{{match['name']}}} must be ${{VAR:?message}}"
    assert {"JWT_SECRET", "SUBGRAPH_SHARED_SECRET", "NOTIFICATIONS_WEBHOOK_SECRET", "MONGO_ROOT_PASSWORD"} <= secrets
    for name, spec in SERVICES.items():
        for key, value in _environment(spec).items():
            if _SECRET.search(key) and value:  # no literal secret (an empty SMTP password aside)
                assert value.startswith("${") or "$$" in value, f"{name}: {key} is a literal"


def test_app_services_run_in_production_with_the_production_settings() -> None:
    for name, spec in APP.items():
        env = _environment(spec)
        assert env.get("APP_ENV") == "production", name
        for key in ("JWT_SECRET", "JWT_ISSUER", "JWT_AUDIENCE", "SUBGRAPH_SHARED_SECRET", "MONGODB_URL", "REDIS_URL"):
            assert env.get(key), f"{name}: {key} is not set"
        if name.startswith("notifications"):
            assert env["NOTIFICATIONS_WEBHOOK_ALLOW_PRIVATE"] == "false"
            assert env["NOTIFICATIONS_WEBHOOK_SECRET"].startswith("${NOTIFICATIONS_WEBHOOK_SECRET:?")


def test_the_production_checks_pass_on_compose_environment() -> None:
    """With every variable set (secrets 48 characters long), no process would refuse to start."""
    for name, spec in APP.items():
        env = {key: _interpolated(value) for key, value in _environment(spec).items()}
        env = {key: ("s" * 48 if value.startswith("sample-") and _SECRET.search(key) else value)
               for key, value in env.items()}
        if name == "gateway":
            settings = GatewaySettings.from_env(env)  # raises InsecureConfiguration on a development default
            assert settings.production
        else:
            service = name.split("-")[0]
            assert service_problems(service, env) == [], name


def test_only_the_gateway_is_published_and_nothing_pins_a_container() -> None:
    published = {name for name, spec in SERVICES.items() if spec.get("ports")}
    assert published - set(OBSERVABILITY_UIS) == {"gateway"}
    for name in OBSERVABILITY_UIS:  # the observability UIs: the host's loopback only
        (port,) = SERVICES[name]["ports"]
        assert _interpolated(port).startswith("127.0.0.1:"), f"{name} is published beyond loopback: {port}"
    for name, spec in SERVICES.items():
        assert "container_name" not in spec, f"{name} could not be scaled"
        assert not spec.get("network_mode"), name


def test_every_long_running_app_service_has_a_healthcheck() -> None:
    for name, spec in LONG_RUNNING.items():
        test = (spec.get("healthcheck") or {}).get("test")
        assert test and not (spec["healthcheck"].get("disable")), f"{name} has no healthcheck"
        text = " ".join(test)
        if name.endswith("-worker"):
            assert "arq --check" in text, name
        else:
            port = DEFAULT_PORTS[name]
            assert f"http://127.0.0.1:{port}/ready" in text, f"{name} must probe its /ready"
    for name in ("mongo", "redis"):
        assert SERVICES[name]["healthcheck"]["test"], name


def test_depends_on_waits_for_health() -> None:
    for name, spec in SERVICES.items():
        for dependency, condition in (spec.get("depends_on") or {}).items():
            assert dependency in SERVICES, f"{name} depends on an unknown {dependency}"
            expected = "service_completed_successfully" if SERVICES[dependency].get("restart") == "no" \
                else "service_healthy"
            assert condition == {"condition": expected}, f"{name} -> {dependency}: {condition}"
    assert set(SERVICES["gateway"]["depends_on"]) >= set(SUBGRAPHS)


def test_every_service_and_worker_is_its_own_container() -> None:
    for subgraph in SUBGRAPHS:
        assert SERVICES[subgraph]["command"] == ["python", "-m", f"subgraphs.{subgraph}"]
        assert _environment(SERVICES[subgraph])[f"{subgraph.upper()}_HOST"] == "0.0.0.0"
    for worker in ("orders", "payments", "notifications"):
        command = SERVICES[f"{worker}-worker"]["command"]
        assert command[-1] == f"subgraphs.{worker}.worker.WorkerSettings", command
    for name, spec in APP.items():
        assert _environment(spec)["RUN_WORKER_IN_PROCESS"] == "0", name


def test_redis_keeps_its_data() -> None:
    redis = SERVICES["redis"]
    command = " ".join(redis["command"])
    assert "--appendonly yes" in command
    assert any(volume.endswith(":/data") for volume in redis["volumes"])


def test_mongo_is_an_authenticated_replica_set() -> None:
    mongo = SERVICES["mongo"]
    script = " ".join(mongo["command"])
    assert "--replSet rs0" in script and "--keyFile /keys/keyfile" in script
    assert mongo["environment"]["MONGO_INITDB_ROOT_PASSWORD"].startswith("${MONGO_ROOT_PASSWORD:?")
    assert "rs.initiate" in " ".join(mongo["healthcheck"]["test"])
    assert any(volume.endswith(":/keys") for volume in mongo["volumes"])
    for name, spec in APP.items():
        url = urlsplit(_interpolated(_environment(spec)["MONGODB_URL"]))
        assert url.username and url.password and url.hostname == "mongo", name
        assert "replicaSet=rs0" in url.query and "authSource=admin" in url.query, name


def test_mail_lands_on_a_volume() -> None:
    for name in ("notifications", "notifications-worker"):
        spec = SERVICES[name]
        maildir = _environment(spec)["NOTIFICATIONS_MAILDIR"]
        assert any(volume.split(":", 1)[1] == maildir for volume in spec["volumes"]), name
        assert spec["volumes"][0].split(":", 1)[0] in COMPOSE["volumes"]


def test_the_gateway_composes_the_compose_supergraph_config() -> None:
    gateway = SERVICES["gateway"]
    command = gateway["command"]
    config_path = command[command.index("--config") + 1]
    config = yaml.safe_load((ROOT / config_path).read_text())
    assert list(config["subgraphs"]) == SUBGRAPHS or set(config["subgraphs"]) == set(SUBGRAPHS)
    for name, entry in config["subgraphs"].items():
        for url in (entry["routing_url"], entry["schema"]["subgraph_url"]):
            parts = urlsplit(url)
            assert parts.hostname == name and name in SERVICES, url  # the compose service, load-balanced
            assert parts.port == DEFAULT_PORTS[name], url
    assert int(_environment(gateway)["GATEWAY_COMPOSE_DEADLINE_SECONDS"]) > 0


@pytest.mark.parametrize("name", ["orders", "payments-worker"])
def test_scaled_services_have_nothing_fixed(name: str) -> None:
    spec = SERVICES[name]
    assert not spec.get("ports") and "container_name" not in spec and "hostname" not in spec


# --- the observability stack (docs/observability.md, "The compose stack") ------------------------------
DEPLOY = ROOT / "deploy"
PROMETHEUS: dict[str, Any] = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
DASHBOARD_PATH = DEPLOY / "grafana" / "dashboards" / "supershop.json"
METRICS: dict[str, Any] = yaml.safe_load((DEPLOY / "grafana" / "metrics.yaml").read_text())["metrics"]
# PromQL words that are not metric names (functions, aggregations, keywords)
_PROMQL_WORDS = {
    "sum", "max", "min", "avg", "count", "rate", "irate", "increase", "delta", "deriv", "histogram_quantile",
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "offset", "bool",
    "topk", "bottomk", "abs", "clamp_min", "clamp_max", "label_replace", "vector", "scalar", "time",
}
_HISTOGRAM_SUFFIXES = ("_bucket", "_sum", "_count")


def _scrape_targets() -> dict[str, set[int]]:
    """Prometheus job name -> the ports it scrapes, per compose service name it resolves."""
    targets: dict[str, set[int]] = {}
    for job in PROMETHEUS["scrape_configs"]:
        for sd in job.get("dns_sd_configs", []):
            assert sd["type"] == "A", job["job_name"]  # every replica of a scaled service
            for name in sd["names"]:
                targets.setdefault(name, set()).add(int(sd["port"]))
    return targets


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (histogram series by their family name)."""
    text = re.sub(r'"[^"]*"', "", expr)  # label values
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring)\s*\([^)]*\)", "", text)  # grouping labels
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges, subqueries
    names = set()
    for word in re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", text):
        if word in _PROMQL_WORDS or word.startswith("$"):
            continue
        for suffix in _HISTOGRAM_SUFFIXES:
            if word.endswith(suffix) and METRICS.get(word[: -len(suffix)], {}).get("type") == "histogram":
                word = word[: -len(suffix)]
        names.add(word)
    return names


def _panels() -> list[dict[str, Any]]:
    dashboard = json.loads(DASHBOARD_PATH.read_text(encoding="utf-8"))
    return [p for p in dashboard["panels"] if p["type"] != "row"]


def test_every_app_process_is_scraped_on_the_port_it_serves_metrics_on() -> None:
    targets = _scrape_targets()
    for name, spec in LONG_RUNNING.items():
        assert name in targets, f"Prometheus does not scrape {name}"
        if name.endswith("-worker"):
            env = _environment(spec)
            port = int(env["METRICS_PORT"])
            assert int(env["WORKER_METRICS_PORT"]) == port and env["WORKER_METRICS_HOST"] == "0.0.0.0", name
        else:
            port = DEFAULT_PORTS[name]
        assert targets[name] == {port}, f"{name} serves /metrics on {port}, scraped on {targets[name]}"
    assert set(targets) <= set(SERVICES), "a scrape job names no compose service"
    assert all(job.get("metrics_path", "/metrics") == "/metrics" for job in PROMETHEUS["scrape_configs"])


def test_every_app_process_sends_traces_to_the_collector() -> None:
    for name, spec in APP.items():
        assert _environment(spec)["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
    collector = yaml.safe_load((DEPLOY / "otel-collector.yaml").read_text())
    assert collector["receivers"]["otlp"]["protocols"]["http"]["endpoint"].endswith(":4318")
    (exporter,) = collector["service"]["pipelines"]["traces"]["exporters"]
    assert collector["exporters"][exporter]["endpoint"] == "jaeger:4317"
    assert _environment(SERVICES["jaeger"])["COLLECTOR_OTLP_ENABLED"] == "true"


def test_every_third_party_image_is_pinned() -> None:
    for name, spec in SERVICES.items():
        if "build" in spec:
            continue
        image = spec["image"]
        repository, _, tag = image.rpartition(":")
        assert repository and re.fullmatch(r"v?\d+\.\d+\.\d+", tag), f"{name}: {image} is not pinned"


def test_grafana_provisions_the_datasource_and_the_dashboard() -> None:
    grafana = SERVICES["grafana"]
    mounts = {volume.split(":")[1]: volume.split(":")[0] for volume in grafana["volumes"]}
    provisioning = ROOT / mounts["/etc/grafana/provisioning"]
    (datasource,) = yaml.safe_load((provisioning / "datasources" / "prometheus.yaml").read_text())["datasources"]
    assert datasource["type"] == "prometheus" and datasource["url"] == "http://prometheus:9090"
    (provider,) = yaml.safe_load((provisioning / "dashboards" / "supershop.yaml").read_text())["providers"]
    assert (ROOT / mounts[provider["options"]["path"]]).resolve() == DASHBOARD_PATH.parent.resolve()
    assert _environment(grafana)["GF_SECURITY_ADMIN_PASSWORD"].startswith("${GRAFANA_ADMIN_PASSWORD:?")
    for panel in _panels():
        assert panel["datasource"]["uid"] == datasource["uid"], panel["title"]
    assert SERVICES["grafana"]["depends_on"] == {"prometheus": {"condition": "service_healthy"}}


def test_the_dashboard_is_the_generated_one() -> None:
    from scripts.dashboard import render_json

    assert DASHBOARD_PATH.read_text(encoding="utf-8") == render_json(), "run python -m scripts.dashboard"


def test_every_panel_queries_listed_metrics_only() -> None:
    used: set[str] = set()
    for panel in _panels():
        assert panel["targets"], panel["title"]
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: {target['expr']} names no metric"
            unknown = names - set(METRICS)
            assert not unknown, f"{panel['title']}: {sorted(unknown)} not in deploy/grafana/metrics.yaml"
            used |= names
    assert used == set(METRICS), f"listed but unused: {sorted(set(METRICS) - used)}"
    for name, spec in METRICS.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert (spec["type"] == "counter") == name.endswith("_total"), f"{name}: counters, and only they, end _total"
        assert spec["type"] != "histogram" or name.endswith("_seconds"), name


def test_the_metric_name_parser_sees_through_promql() -> None:
    assert metric_names('histogram_quantile(0.95, sum by (le, subgraph) (rate(x_seconds_bucket{a="b"}[5m])))') \
        == {"x_seconds_bucket"}
    assert metric_names("sum by (status) (delta(max by (status) (orders_by_status)[5m:]))") == {"orders_by_status"}
    assert metric_names('rate(gateway_request_duration_seconds_bucket[$__rate_interval])') \
        == {"gateway_request_duration_seconds"}


def test_the_dashboard_shows_what_an_operator_needs() -> None:
    titles = " | ".join(panel["title"].lower() for panel in _panels())
    for view in ("by operation", "by subgraph", "saga funnel", "payment outcomes", "queue depth", "consumer lag",
                 "dead letters", "latency", "error"):
        assert view in titles, f"no panel for {view}"
