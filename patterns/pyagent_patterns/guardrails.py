"""Input and output guards (re-exported from `pyagent_guardrails`)."""

from pyagent_guardrails import (
    COMMITMENTS,
    Finding,
    Guard,
    GuardrailChain,
    GuardResult,
    LeakGuard,
    LengthGuard,
    PIIGuard,
    PlaceholderMap,
    PromiseGuard,
    ReplyContext,
    ReplyGuard,
    SystemPromptGuard,
)

__all__ = [
    "COMMITMENTS",
    "Finding",
    "Guard",
    "GuardResult",
    "GuardrailChain",
    "LeakGuard",
    "LengthGuard",
    "PIIGuard",
    "PlaceholderMap",
    "PromiseGuard",
    "ReplyContext",
    "ReplyGuard",
    "SystemPromptGuard",
]
