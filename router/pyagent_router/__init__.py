"""Model registry, routing, difficulty estimation, classifiers and cost tracking."""

from .difficulty import DifficultyEstimate, DifficultyEstimator, LLMDifficultyEstimator
from .middleware import RoutableAgent, RoutedAgent, RouterMiddleware

__all__ = [
    "DifficultyEstimate",
    "DifficultyEstimator",
    "LLMDifficultyEstimator",
    "RoutableAgent",
    "RoutedAgent",
    "RouterMiddleware",
]
