"""The shop's own supergraph: the real subgraph schemas compose with our composition."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml

from gateway.composition import SubgraphSource, compose

ROOT = Path(__file__).resolve().parent.parent
SERVICES = ["products", "orders", "payments", "notifications"]


def subgraph_sdl(name: str) -> str:
    module = importlib.import_module(f"subgraphs.{name}.schema")
    schema = module.build_schema()
    result = schema.execute_sync("{ _service { sdl } }")
    assert result.errors is None, result.errors
    return str(result.data["_service"]["sdl"])


def shop_supergraph() -> str:
    config = yaml.safe_load((ROOT / "supergraph.yaml").read_text())
    return compose(
        [SubgraphSource(name, spec["routing_url"], subgraph_sdl(name)) for name, spec in config["subgraphs"].items()]
    )


def test_supergraph_yaml_lists_every_service() -> None:
    config = yaml.safe_load((ROOT / "supergraph.yaml").read_text())
    assert sorted(config["subgraphs"]) == sorted(SERVICES)


def test_the_shop_composes() -> None:
    supergraph = shop_supergraph()
    assert 'enum join__Graph' in supergraph
    for name in SERVICES:
        assert f'@join__graph(name: "{name}"' in supergraph
