"""Model registry, routing, difficulty estimation, classifiers and cost tracking."""

from .breaker import CircuitBreaker
from .calibration import (
    Calibration,
    CurvePoint,
    calibrate,
    calibrate_threshold,
    threshold_for_share,
)
from .classifiers import Classification, Classifier, LLMClassifier
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
from .tracking import CallRecord, CostTracker, MeteredLLM, cost_labels, current_labels

__all__ = [
    "DEFAULT_TIERS",
    "Calibration",
    "CallRecord",
    "CircuitBreaker",
    "Classification",
    "Classifier",
    "CombinedDifficultyEstimator",
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
    "RegisteredModel",
    "RoutableAgent",
    "RoutedAgent",
    "RouterMiddleware",
    "calibrate",
    "calibrate_threshold",
    "cost_labels",
    "current_labels",
    "threshold_for_share",
]
