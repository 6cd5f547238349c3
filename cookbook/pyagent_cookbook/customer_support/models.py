"""The two tiers' models, chosen from the API keys in the environment.

With ``OPENAI_API_KEY`` and ``ANTHROPIC_API_KEY`` the fast tier is gpt-4o-mini and the smart
tier Claude Sonnet, as in the seed; either key alone serves both tiers from its own
provider; with neither, both tiers run on the embedded `LocalModel` (and every result says
so). ``PYAGENT_FAST_MODEL`` / ``PYAGENT_SMART_MODEL`` override the model names.

The seed's Sonnet snapshot (claude-sonnet-4-20250514) reached end-of-life in June 2026,
so the smart tier defaults to claude-sonnet-4-6.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from pyagent_providers import LLM, LocalModel

from ..data import load_articles, load_examples
from .composer import SupportDeskComposer

__all__ = ["ONLINE_DEFAULTS", "Models", "choose_models"]

ONLINE_DEFAULTS = {
    "openai+anthropic": ("gpt-4o-mini", "claude-sonnet-4-6"),
    "openai": ("gpt-4o-mini", "gpt-4.1"),
    "anthropic": ("claude-haiku-4-5", "claude-sonnet-4-6"),
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Models:
    """The two tiers' models and what serves them."""

    fast: LLM
    smart: LLM
    fast_name: str
    smart_name: str
    backend: str  # "openai+anthropic" | "openai" | "anthropic" | "local"

    @staticmethod
    def online_id(name: str) -> str:
        """The ``provider:model`` id of an online model name."""
        return f"anthropic:{name}" if name.startswith("claude") else f"openai:{name}"

    def priced_as(self, name: str) -> str | None:
        """The online model id a local stand-in is priced as (``None`` when online)."""
        return self.online_id(name) if self.backend == "local" else None


def choose_models(env: Mapping[str, str] | None = None) -> Models:
    """Pick the tiers' models from the API keys present (see the module docstring)."""
    env = os.environ if env is None else env
    has_openai, has_anthropic = bool(env.get("OPENAI_API_KEY")), bool(env.get("ANTHROPIC_API_KEY"))
    backend = "+".join(n for n, ok in (("openai", has_openai), ("anthropic", has_anthropic)) if ok)
    if not backend:
        fast_name, smart_name = ONLINE_DEFAULTS["openai+anthropic"]
        local = LocalModel(
            knowledge_base=load_articles(),
            examples=load_examples(),
            composer=SupportDeskComposer(),
        )
        return Models(
            fast=local, smart=local, fast_name=fast_name, smart_name=smart_name, backend="local"
        )
    fast_name = env.get("PYAGENT_FAST_MODEL") or ONLINE_DEFAULTS[backend][0]
    smart_name = env.get("PYAGENT_SMART_MODEL") or ONLINE_DEFAULTS[backend][1]

    def build(name: str) -> LLM:
        # Imported here: an SDK is loaded only when a model of that provider is built.
        if name.startswith("claude"):
            from pyagent_providers import AnthropicLLM

            return AnthropicLLM(name)
        from pyagent_providers import OpenAILLM

        return OpenAILLM(name)

    return Models(
        fast=build(fast_name),
        smart=build(smart_name),
        fast_name=fast_name,
        smart_name=smart_name,
        backend=backend,
    )
