"""Query planning: client operation -> query plan (Fetch/Flatten/Sequence/Parallel) + response shape."""

from .nodes import (
    DeferredNode,
    EntityRep,
    FetchNode,
    FlattenNode,
    ParallelNode,
    PlanNode,
    QueryPlan,
    RepSel,
    SequenceNode,
)
from .planner import Planner, PlanningError
from .prepare import PlanCache, PreparedOperation, RequestError, error_dict, prepare_operation

__all__ = [
    "DeferredNode",
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
