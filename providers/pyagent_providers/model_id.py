"""``"provider:model"`` identifiers.

Every model is named by its provider and model, e.g. ``"openai:gpt-4o-mini"`` or
``"anthropic:claude-sonnet-4-20250514"``. A bare model name is accepted where its provider
is unambiguous from the name (``gpt-*``, ``o1``/``o3``/``o4`` → openai; ``claude-*`` →
anthropic).
"""

from __future__ import annotations

import re

from .errors import ConfigurationError

__all__ = ["infer_provider", "split_model_id"]

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
