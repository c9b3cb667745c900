from .gateway import GatewayClient, GatewayProcess, compose_with, reference_composer_available
from .host import RequestLog, RequestRecord, Scenario, SubgraphHost
from .subgraph import Subgraph

__all__ = [
    "GatewayClient",
    "GatewayProcess",
    "RequestLog",
    "RequestRecord",
    "Scenario",
    "Subgraph",
    "SubgraphHost",
    "compose_with",
    "reference_composer_available",
]
