"""Model registry, routing, difficulty estimation, classifiers and cost tracking."""

from .breaker import CircuitBreaker
from .classifiers import Classification, Classifier
from .difficulty import DifficultyEstimate, DifficultyEstimator, LLMDifficultyEstimator
from .middleware import RoutableAgent, RoutedAgent, RouterMiddleware
from .registry import DEFAULT_TIERS, ModelRegistry, RegisteredModel
from .tracking import CallRecord, CostTracker, MeteredLLM, cost_labels, current_labels

__all__ = [
    "DEFAULT_TIERS",
    "CallRecord",
    "CircuitBreaker",
    "Classification",
    "Classifier",
    "CostTracker",
    "DifficultyEstimate",
    "DifficultyEstimator",
    "LLMDifficultyEstimator",
    "MeteredLLM",
    "ModelRegistry",
    "RegisteredModel",
    "RoutableAgent",
    "RoutedAgent",
    "RouterMiddleware",
    "cost_labels",
    "current_labels",
]
