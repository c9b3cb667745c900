"""Plan execution: subgraph HTTP transport, merging of subgraph JSON, response shaping."""

from .executor import PlanExecution
from .http import SubgraphClient, SubgraphFetchError
from .merge import merge_into
from .shaping import shape_response

__all__ = ["PlanExecution", "SubgraphClient", "SubgraphFetchError", "merge_into", "shape_response"]
