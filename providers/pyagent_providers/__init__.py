"""pyagent's bottom layer: core types, the `LLM` protocol, model providers, pricing, tokens.

The SDK-backed providers (`OpenAILLM`, `AnthropicLLM`, `OpenAICompatibleLLM`) and the
embedded `LocalModel` are imported on first use, so this package imports quickly and
without the ``openai`` / ``anthropic`` / ``local`` extras.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from .drafting import Article, Composed, Draft, PlainComposer, ReplyComposer
from .errors import (
    AccessDenied,
    AuthenticationError,
    BudgetExceeded,
    ConfigurationError,
    ConflictError,
    GuardrailTripped,
    MissingDependencyError,
    ModelOutputError,
    NoRouteError,
    NotFoundError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    PyAgentError,
    RateLimitError,
    StoreUnavailable,
    TooManyRequests,
    UserError,
)
from .llm import LLM, STREAM_SINK, StreamSink, complete_sync
from .model_id import infer_model, split_model_id
from .output import OutputSchema
from .pricing import ModelPrice, PricingTable, cost_of, default_pricing, priced
from .resilience import RetryPolicy
from .testing import FunctionModel, ScriptedModel
from .tokens import count_message_tokens, count_tokens
from .types import (
    Example,
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
    from .local import LocalModel
    from .openai_llm import OpenAILLM

__all__ = [
    "LLM",
    "STREAM_SINK",
    "AccessDenied",
    "AnthropicLLM",
    "Article",
    "Composed",
    "Draft",
    "AuthenticationError",
    "BudgetExceeded",
    "ConfigurationError",
    "ConflictError",
    "Example",
    "FunctionModel",
    "GuardrailTripped",
    "LocalModel",
    "Message",
    "MissingDependencyError",
    "ModelOutputError",
    "ModelPrice",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "NoRouteError",
    "NotFoundError",
    "OpenAICompatibleLLM",
    "OpenAILLM",
    "OutputSchema",
    "PlainComposer",
    "PricingTable",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderTimeoutError",
    "PyAgentError",
    "RateLimitError",
    "ReplyComposer",
    "RetryPolicy",
    "ScriptedModel",
    "StreamEnd",
    "StreamEvent",
    "StreamSink",
    "TextDelta",
    "StoreUnavailable",
    "TooManyRequests",
    "ToolCall",
    "ToolSpec",
    "Usage",
    "UserError",
    "complete_sync",
    "cost_of",
    "count_message_tokens",
    "count_tokens",
    "default_pricing",
    "infer_model",
    "priced",
    "split_model_id",
]

_LAZY = {
    "OpenAILLM": ".openai_llm",
    "AnthropicLLM": ".anthropic_llm",
    "OpenAICompatibleLLM": ".compatible",
    "LocalModel": ".local",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
