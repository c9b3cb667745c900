"""The Grafana dashboard of the compose stack, written from the panel list below:

    python -m scripts.dashboard            # rewrites deploy/grafana/dashboards/supershop.json

Every query names metrics from deploy/grafana/metrics.yaml (tests/deploy/test_compose.py checks it).
Shared metrics that every replica reports from the same database (the `*_by_status` counts, queue
depths, consumer lag) are aggregated with `max`, never `sum`, so scaling a service does not double them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "deploy" / "grafana" / "dashboards" / "supershop.json"
RATE = "$__rate_interval"
DATASOURCE = {"type": "prometheus", "uid": "prometheus"}


@dataclass(frozen=True)
class Panel:
    title: str
    targets: tuple[tuple[str, str], ...]  # (PromQL, legend)
    unit: str = "short"
    kind: str = "timeseries"
    description: str = ""
    width: int = 8
    extra: dict[str, Any] = field(default_factory=dict)


def _p95(metric: str, by: str) -> str:
    return f"histogram_quantile(0.95, sum by (le, {by}) (rate({metric}_bucket[{RATE}])))"


ROWS: tuple[tuple[str, tuple[Panel, ...]], ...] = (
    ("Gateway, per operation", (
        Panel("Requests per second by operation",
              ((f"sum by (operation_name) (rate(gateway_requests_total[{RATE}]))", "{{operation_name}}"),), "reqps"),
        Panel("p95 latency by operation",
              ((_p95("gateway_request_duration_seconds", "operation_name"), "{{operation_name}}"),), "s"),
        Panel("Error ratio by operation",
              ((f'sum by (operation_name) (rate(gateway_requests_total{{outcome!="success"}}[{RATE}]))'
                f" / sum by (operation_name) (rate(gateway_requests_total[{RATE}]))", "{{operation_name}}"),),
              "percentunit"),
    )),
    ("Subgraphs", (
        Panel("Fetches per second by subgraph",
              ((f"sum by (subgraph) (rate(gateway_subgraph_fetch_duration_seconds_count[{RATE}]))", "{{subgraph}}"),),
              "reqps"),
        Panel("p95 fetch latency by subgraph",
              ((_p95("gateway_subgraph_fetch_duration_seconds", "subgraph"), "{{subgraph}}"),), "s"),
        Panel("Errors per second by subgraph",
              ((f"sum by (subgraph) (rate(gateway_subgraph_fetch_errors_total[{RATE}]))", "{{subgraph}} fetch"),
               (f"sum by (service) (rate(service_graphql_operation_errors_total[{RATE}]))", "{{service}} answered"),),
              "reqps",
              description="Fetches that got no GraphQL answer, and operations a subgraph answered with errors."),
    )),
    ("Checkout saga", (
        Panel("Saga funnel: placed → paid or cancelled",
              (("sum(max by (status) (orders_by_status))", "placed"),
               ('sum(max by (status) (orders_by_status{status=~"PAID|FULFILLED|REFUNDED"}))', "paid"),
               ('max(orders_by_status{status="CANCELLED"})', "cancelled"),
               ('max(orders_by_status{status="AWAITING_PAYMENT"})', "awaiting payment")),
              kind="bargauge", width=12,
              description="Orders per outcome: every placed order ends paid (then maybe fulfilled or refunded) "
                          "or cancelled."),
        Panel("Order status changes per minute",
              (("sum by (status) (delta(max by (status) (orders_by_status)[5m:]))", "{{status}}"),),
              width=12),
    )),
    ("Payments", (
        Panel("Payment outcomes",
              (('max by (status) (payments_by_status{status=~"SUCCEEDED|FAILED|REFUNDED|PARTIALLY_REFUNDED"})',
                "{{status}}"),), kind="bargauge", width=12),
        Panel("Payments in flight", (('max by (status) (payments_by_status{status=~"PENDING|PROCESSING"})',
                                      "{{status}}"),), width=12),
    )),
    ("Queues and events", (
        Panel("Queue depth", (("max by (queue) (service_queue_depth)", "{{queue}}"),), width=6),
        Panel("Consumer lag", (("max by (group) (events_consumer_lag)", "{{group}} lag"),
                               ("max by (group) (events_consumer_pending)", "{{group}} pending")), width=6),
        Panel("Dead letters", (("max by (group) (events_dead_letters)", "{{group}}"),
                               ("max(events_outbox_dead_letters)", "outbox")), width=6),
        Panel("Targets up", (("sum by (job) (up)", "{{job}}"),), width=6),
    )),
)


def _panel(panel: Panel, panel_id: int, x: int, y: int) -> dict[str, Any]:
    return {
        "id": panel_id, "type": panel.kind, "title": panel.title, "description": panel.description,
        "datasource": DATASOURCE,
        "gridPos": {"h": 8, "w": panel.width, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": panel.unit}, "overrides": []},
        "options": {"legend": {"displayMode": "list", "placement": "bottom"}} if panel.kind == "timeseries"
        else {"orientation": "horizontal", "displayMode": "basic"},
        "targets": [{"refId": chr(ord("A") + i), "datasource": DATASOURCE, "expr": expr, "legendFormat": legend}
                    for i, (expr, legend) in enumerate(panel.targets)],
        **panel.extra,
    }


def dashboard() -> dict[str, Any]:
    panels: list[dict[str, Any]] = []
    y = 0
    next_id = 1
    for title, row in ROWS:
        panels.append({"id": next_id, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        next_id, y, x = next_id + 1, y + 1, 0
        for panel in row:
            panels.append(_panel(panel, next_id, x, y))
            next_id, x = next_id + 1, x + panel.width
        y += 8
    return {
        "uid": "supershop", "title": "Supershop", "tags": ["supershop"], "timezone": "utc",
        "schemaVersion": 39, "version": 1, "editable": False, "refresh": "30s",
        "time": {"from": "now-1h", "to": "now"}, "panels": panels,
        "templating": {"list": []}, "annotations": {"list": []},
    }


def render_json() -> str:
    return json.dumps(dashboard(), indent=2, ensure_ascii=False) + "\n"


def main() -> int:
    DASHBOARD.parent.mkdir(parents=True, exist_ok=True)
    DASHBOARD.write_text(render_json(), encoding="utf-8")
    print(f"wrote {DASHBOARD.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
