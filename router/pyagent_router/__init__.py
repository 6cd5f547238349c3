"""Model registry, routing, difficulty estimation, classifiers and cost tracking.

Calibration and cost reports are offline tools: they are loaded on first use, never on
the hot path of a routed call.
"""

import importlib
from typing import TYPE_CHECKING, Any

from .breaker import CircuitBreaker
from .budget import Budget, estimate_call_cost
from .classifiers import Classification, Classifier, LLMClassifier
from .context import ContextArg, RunContext
from .difficulty import (
    CombinedDifficultyEstimator,
    DifficultyEstimate,
    DifficultyEstimator,
    EmbeddingDifficultyEstimator,
    LLMDifficultyEstimator,
)
from .embedding_classifier import EmbeddingClassifier
from .middleware import RoutableAgent, RoutedAgent, RouterMiddleware
from .pg_costs import PostgresCostTracker, open_cost_tracker
from .registry import DEFAULT_TIERS, ModelRegistry, RegisteredModel
from .signals import CustomerProfile, Signals
from .sqlite_costs import SQLiteCostTracker
from .tracking import (
    CallRecord,
    CostTracker,
    MeteredLLM,
    collect_calls,
    cost_labels,
    current_labels,
)

__all__ = [
    "ContextArg",
    "RunContext",
    "DEFAULT_TIERS",
    "Baseline",
    "Budget",
    "Calibration",
    "CallRecord",
    "CircuitBreaker",
    "Classification",
    "Classifier",
    "CombinedDifficultyEstimator",
    "CostProfile",
    "CostTracker",
    "SQLiteCostTracker",
    "PostgresCostTracker",
    "CurvePoint",
    "CustomerProfile",
    "DifficultyEstimate",
    "DifficultyEstimator",
    "EmbeddingClassifier",
    "EmbeddingDifficultyEstimator",
    "LLMClassifier",
    "LLMDifficultyEstimator",
    "MeteredLLM",
    "ModelRegistry",
    "ProfiledQuery",
    "QueryType",
    "RegisteredModel",
    "RoutableAgent",
    "RoutedAgent",
    "RouterMiddleware",
    "Signals",
    "build_cost_profile",
    "calibrate",
    "calibrate_threshold",
    "collect_calls",
    "cost_labels",
    "current_labels",
    "estimate_call_cost",
    "open_cost_tracker",
    "threshold_for_share",
]

_LAZY = {
    **dict.fromkeys(
        ("Calibration", "CurvePoint", "calibrate", "calibrate_threshold", "threshold_for_share"),
        ".calibration",
    ),
    **dict.fromkeys(
        ("Baseline", "CostProfile", "ProfiledQuery", "QueryType", "build_cost_profile"),
        ".cost_report",
    ),
}

if TYPE_CHECKING:
    from .calibration import (
        Calibration,
        CurvePoint,
        calibrate,
        calibrate_threshold,
        threshold_for_share,
    )
    from .cost_report import Baseline, CostProfile, ProfiledQuery, QueryType, build_cost_profile


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
