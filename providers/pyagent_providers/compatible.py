"""`OpenAICompatibleLLM`: any endpoint that speaks the Chat Completions wire format.

Presets cover the hosted services and local servers users ask for; any other endpoint
works by passing its ``base_url`` (and the environment variable holding its key, if any).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from .errors import ConfigurationError
from .openai_llm import OpenAILLM
from .resilience import RetryPolicy
from .types import ModelRequest

__all__ = ["PRESETS", "EndpointPreset", "OpenAICompatibleLLM"]


@dataclass(frozen=True, kw_only=True, slots=True)
class EndpointPreset:
    """Where an OpenAI-compatible service lives and where its key comes from."""

    base_url: str
    api_key_env: str | None


PRESETS: dict[str, EndpointPreset] = {
    "groq": EndpointPreset(base_url="https://api.groq.com/openai/v1", api_key_env="GROQ_API_KEY"),
    "openrouter": EndpointPreset(
        base_url="https://openrouter.ai/api/v1", api_key_env="OPENROUTER_API_KEY"
    ),
    "sambanova": EndpointPreset(
        base_url="https://api.sambanova.ai/v1", api_key_env="SAMBANOVA_API_KEY"
    ),
    "ollama": EndpointPreset(base_url="http://localhost:11434/v1", api_key_env=None),
    "vllm": EndpointPreset(base_url="http://localhost:8000/v1", api_key_env=None),
    "llamacpp": EndpointPreset(base_url="http://localhost:8080/v1", api_key_env=None),
}


class OpenAICompatibleLLM(OpenAILLM):
    """A model behind any Chat Completions-compatible endpoint.

    Args:
        model: The endpoint's model name.
        base_url: The endpoint's base URL (ending in ``/v1`` for most servers).
        api_key_env: Environment variable holding its key; ``None`` for keyless servers.
        provider: Name used in model ids, pricing and logs (e.g. ``"groq"``).
        structured_output: ``"json_schema"`` where the server supports strict JSON schema
            (OpenAI, Groq, OpenRouter, Ollama, vLLM); ``"json_object"`` for servers that
            only accept JSON mode; the schema is then stated in the system prompt and the
            reply is still validated against it.
        **options: Passed on to `OpenAILLM` (api_key, timeout, retry, requests_per_second,
            client).

    """

    def __init__(
        self,
        model: str,
        base_url: str,
        api_key_env: str | None = None,
        *,
        provider: str = "openai-compatible",
        structured_output: Literal["json_schema", "json_object"] = "json_schema",
        api_key: str | None = None,
        timeout: float = 60.0,
        retry: RetryPolicy | None = None,
        requests_per_second: float | None = None,
        client: Any = None,
    ) -> None:
        self.provider = provider
        self.default_api_key_env = api_key_env
        self.structured_output = structured_output
        super().__init__(
            model,
            api_key=api_key,
            base_url=base_url,
            timeout=timeout,
            retry=retry,
            requests_per_second=requests_per_second,
            client=client,
        )

    @classmethod
    def preset(cls, name: str, model: str, **options: Any) -> OpenAICompatibleLLM:
        """A model on a named service: groq, openrouter, sambanova, ollama, vllm, llamacpp."""
        try:
            endpoint = PRESETS[name]
        except KeyError:
            raise ConfigurationError(
                f"unknown preset {name!r}; choose one of {sorted(PRESETS)} or pass base_url"
            ) from None
        return cls(model, endpoint.base_url, endpoint.api_key_env, provider=name, **options)

    def _response_format(self, request: ModelRequest) -> dict[str, Any]:
        if self.structured_output == "json_schema":
            return super()._response_format(request)
        return {"type": "json_object"}

    def _request_params(self, request: ModelRequest, time_limit: float) -> dict[str, Any]:
        params = super()._request_params(request, time_limit)
        schema = request.output_schema
        if schema is not None and self.structured_output == "json_object":
            instruction = (
                "Answer with one JSON object that follows this JSON schema:\n"
                + json.dumps(dict(schema.json_schema))
            )
            params["messages"] = [{"role": "system", "content": instruction}, *params["messages"]]
        return params
