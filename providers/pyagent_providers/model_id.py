"""``"provider:model"`` identifiers.

Every model is named by its provider and model, e.g. ``"openai:gpt-4o-mini"`` or
``"anthropic:claude-sonnet-4-20250514"``. A bare model name is accepted where its provider
is unambiguous from the name (``gpt-*``, ``o1``/``o3``/``o4`` → openai; ``claude-*`` →
anthropic).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .errors import ConfigurationError

if TYPE_CHECKING:
    from .llm import LLM

__all__ = ["infer_model", "infer_provider", "split_model_id"]

_OPENAI_NAME = re.compile(r"^(gpt-|chatgpt-|o\d(\b|-)|text-embedding-)")


def infer_provider(model: str) -> str | None:
    """The provider a bare model name belongs to, or ``None`` if it cannot be told."""
    if _OPENAI_NAME.match(model):
        return "openai"
    if model.startswith("claude"):
        return "anthropic"
    return None


def split_model_id(model_id: str) -> tuple[str, str]:
    """Split ``"provider:model"`` into its parts, inferring the provider of a bare name.

    Raises:
        ConfigurationError: The id is empty or its provider cannot be inferred.

    """
    provider, sep, model = model_id.partition(":")
    if sep and provider and model:
        return provider, model
    provider = infer_provider(model_id) or ""
    if not provider:
        raise ConfigurationError(
            f"model id {model_id!r} must look like 'provider:model', e.g. 'openai:gpt-4o-mini'"
        )
    return provider, model_id


def infer_model(model: str) -> LLM:
    """The model a ``"provider:model"`` id names, as pydantic-ai's ``Agent("openai:gpt-4o")``.

    ``"openai:gpt-4o-mini"``, ``"anthropic:claude-sonnet-4-20250514"``, ``"local:any"``
    (the offline `LocalModel`); only that provider's SDK is imported.

    Raises:
        ConfigurationError: The id is malformed or names a provider this package lacks
            (build an `OpenAICompatibleLLM` yourself for other endpoints).
    """
    provider, name = split_model_id(model)
    if provider == "openai":
        from .openai_llm import OpenAILLM

        return OpenAILLM(name)
    if provider == "anthropic":
        from .anthropic_llm import AnthropicLLM

        return AnthropicLLM(name)
    if provider == "local":
        from .local import LocalModel

        return LocalModel()
    raise ConfigurationError(
        f"unknown provider {provider!r} in {model!r}; known: openai, anthropic, local"
    )
