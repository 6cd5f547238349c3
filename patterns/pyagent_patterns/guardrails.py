"""Input and output guards (re-exported from `pyagent_guardrails`)."""

from pyagent_guardrails import (
    Finding,
    Guard,
    GuardrailChain,
    GuardResult,
    LengthGuard,
    PIIGuard,
    PlaceholderMap,
)

__all__ = [
    "Finding",
    "Guard",
    "GuardResult",
    "GuardrailChain",
    "LengthGuard",
    "PIIGuard",
    "PlaceholderMap",
]
