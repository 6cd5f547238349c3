"""pyagent's bottom layer: core types, the `LLM` protocol, model providers, pricing, tokens.

The SDK-backed providers (`OpenAILLM`, `AnthropicLLM`, `OpenAICompatibleLLM`) are imported
on first use, so this package imports without the ``openai`` / ``anthropic`` extras.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .errors import (
    AuthenticationError,
    BudgetExceeded,
    ConfigurationError,
    GuardrailTripped,
    MissingDependencyError,
    ModelOutputError,
    NoRouteError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    PyAgentError,
    RateLimitError,
    UserError,
)
from .llm import LLM, complete_sync
from .model_id import split_model_id
from .output import OutputSchema
from .pricing import ModelPrice, PricingTable, cost_of, default_pricing
from .resilience import RetryPolicy
from .testing import FunctionModel, ScriptedModel
from .tokens import count_message_tokens, count_tokens
from .types import (
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    ToolSpec,
    Usage,
)

if TYPE_CHECKING:
    from .anthropic_llm import AnthropicLLM
    from .compatible import OpenAICompatibleLLM
    from .openai_llm import OpenAILLM

__all__ = [
    "LLM",
    "AnthropicLLM",
    "AuthenticationError",
    "BudgetExceeded",
    "ConfigurationError",
    "FunctionModel",
    "GuardrailTripped",
    "Message",
    "MissingDependencyError",
    "ModelOutputError",
    "ModelPrice",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "NoRouteError",
    "OpenAICompatibleLLM",
    "OpenAILLM",
    "OutputSchema",
    "PricingTable",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderTimeoutError",
    "PyAgentError",
    "RateLimitError",
    "RetryPolicy",
    "ScriptedModel",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "UserError",
    "complete_sync",
    "cost_of",
    "count_message_tokens",
    "count_tokens",
    "default_pricing",
    "split_model_id",
]

_LAZY = {
    "OpenAILLM": ".openai_llm",
    "AnthropicLLM": ".anthropic_llm",
    "OpenAICompatibleLLM": ".compatible",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
