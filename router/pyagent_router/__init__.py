"""Model registry, routing, difficulty estimation, classifiers and cost tracking."""

from .breaker import CircuitBreaker
from .budget import Budget, estimate_call_cost
from .calibration import (
    Calibration,
    CurvePoint,
    calibrate,
    calibrate_threshold,
    threshold_for_share,
)
from .classifiers import Classification, Classifier, LLMClassifier
from .context import ContextArg, RunContext
from .cost_report import Baseline, CostProfile, ProfiledQuery, QueryType, build_cost_profile
from .difficulty import (
    CombinedDifficultyEstimator,
    DifficultyEstimate,
    DifficultyEstimator,
    EmbeddingDifficultyEstimator,
    LLMDifficultyEstimator,
)
from .embedding_classifier import EmbeddingClassifier
from .middleware import RoutableAgent, RoutedAgent, RouterMiddleware
from .registry import DEFAULT_TIERS, ModelRegistry, RegisteredModel
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
    "CurvePoint",
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
    "build_cost_profile",
    "calibrate",
    "calibrate_threshold",
    "collect_calls",
    "cost_labels",
    "current_labels",
    "estimate_call_cost",
    "threshold_for_share",
]
