"""Query planning: client operation -> query plan (Fetch/Flatten/Sequence/Parallel) + response shape."""

from .nodes import EntityRep, FetchNode, FlattenNode, ParallelNode, PlanNode, QueryPlan, RepSel, SequenceNode
from .planner import Planner, PlanningError
from .prepare import PlanCache, PreparedOperation, RequestError, error_dict, prepare_operation

__all__ = [
    "EntityRep",
    "FetchNode",
    "FlattenNode",
    "ParallelNode",
    "PlanCache",
    "PlanNode",
    "Planner",
    "PlanningError",
    "PreparedOperation",
    "QueryPlan",
    "RepSel",
    "RequestError",
    "SequenceNode",
    "error_dict",
    "prepare_operation",
]
