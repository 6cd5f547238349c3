"""`OpenAILLM`: OpenAI Chat Completions through the official ``openai`` SDK.

Structured output uses ``response_format`` with a strict JSON schema; tools use native
function calling; streaming asks for the final usage chunk. `OpenAICompatibleLLM` (in
`compatible`) reuses all of this against any endpoint that speaks the same wire format.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any, cast

from ._sdk_provider import SDKProvider, keep_request_bodies_out_of_logs
from .errors import MissingDependencyError, ModelOutputError, ProviderError
from .types import (
    Message,
    ModelRequest,
    ModelResponse,
    StreamEnd,
    StreamEvent,
    TextDelta,
    ToolCall,
    Usage,
)

try:
    import openai
    from openai.types.chat import ChatCompletion
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("openai", "openai") from exc

__all__ = ["OpenAILLM"]

keep_request_bodies_out_of_logs("openai._base_client")


class OpenAILLM(SDKProvider[openai.AsyncOpenAI]):
    """An OpenAI chat model, e.g. ``OpenAILLM("gpt-4o-mini")``.

    Args:
        model: Model name (``"gpt-4o-mini"`` or ``"openai:gpt-4o-mini"``).
        api_key: API key; defaults to the ``OPENAI_API_KEY`` environment variable.
        api_key_env: Environment variable to read the key from instead.
        base_url: API base URL (defaults to OpenAI's).
        timeout: Seconds one call may take, unless the request's settings say otherwise.
        retry: Our retry policy (the SDK's own retries are disabled).
        requests_per_second: Client-side rate limit shared by instances with the same
            provider, base URL and rate; ``None`` for no limit.
        client: An ``openai.AsyncOpenAI`` to use instead of building one.

    """

    provider = "openai"
    default_api_key_env: str | None = "OPENAI_API_KEY"

    def _make_client(self, api_key: str) -> openai.AsyncOpenAI:
        return openai.AsyncOpenAI(api_key=api_key, base_url=self.base_url, max_retries=0)

    def _adopt_client(self, client: openai.AsyncOpenAI) -> openai.AsyncOpenAI:
        return client.with_options(max_retries=0)

    # -- request -------------------------------------------------------------------------

    def _request_params(self, request: ModelRequest, time_limit: float) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": _messages(request),
            "timeout": time_limit,
        }
        settings = request.settings
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.max_tokens is not None:
            params["max_completion_tokens"] = settings.max_tokens
        if settings.stop:
            params["stop"] = list(settings.stop)
        if request.tools:
            params["tools"] = [
                {
                    "type": "function",
                    "function": {
                        "name": tool.name,
                        "description": tool.description,
                        "parameters": dict(tool.parameters),
                    },
                }
                for tool in request.tools
            ]
        if request.output_schema is not None:
            params["response_format"] = self._response_format(request)
        return params

    def _response_format(self, request: ModelRequest) -> dict[str, Any]:
        schema = request.output_schema
        assert schema is not None
        return {
            "type": "json_schema",
            "json_schema": {
                "name": schema.name,
                "description": schema.description,
                "schema": schema.strict_json_schema(),
                "strict": True,
            },
        }

    # -- response ------------------------------------------------------------------------

    async def _complete_once(
        self, client: openai.AsyncOpenAI, request: ModelRequest, time_limit: float
    ) -> ModelResponse:
        completion = cast(
            ChatCompletion,
            await client.chat.completions.create(**self._request_params(request, time_limit)),
        )
        if not completion.choices:
            raise ModelOutputError(f"{self.model_id} returned no choices")
        choice = completion.choices[0]
        message = choice.message
        calls = tuple(
            _tool_call(call.id, call.function.name, call.function.arguments)
            for call in message.tool_calls or ()
            if call.type == "function"
        )
        return self._response(
            request,
            text=message.content or "",
            refusal=message.refusal,
            tool_calls=calls,
            usage=_usage(completion.usage),
            model=completion.model,
            finish_reason=choice.finish_reason,
        )

    async def _stream_once(
        self, client: openai.AsyncOpenAI, request: ModelRequest, time_limit: float
    ) -> AsyncIterator[StreamEvent]:
        params = self._request_params(request, time_limit)
        stream = await client.chat.completions.create(
            **params, stream=True, stream_options={"include_usage": True}
        )
        text: list[str] = []
        calls: dict[int, dict[str, str]] = {}
        usage = Usage()
        model = self.model
        finish_reason: str | None = None
        async with stream:
            async for chunk in stream:
                model = chunk.model or model
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices:
                    finish_reason = choice.finish_reason or finish_reason
                    delta = choice.delta
                    if delta.content:
                        text.append(delta.content)
                        yield TextDelta(delta.content)
                    for part in delta.tool_calls or ():
                        call = calls.setdefault(part.index, {"id": "", "name": "", "args": ""})
                        call["id"] = part.id or call["id"]
                        if part.function is not None:
                            call["name"] += part.function.name or ""
                            call["args"] += part.function.arguments or ""
        yield StreamEnd(
            self._response(
                request,
                text="".join(text),
                refusal=None,
                tool_calls=tuple(
                    _tool_call(c["id"], c["name"], c["args"]) for _, c in sorted(calls.items())
                ),
                usage=usage,
                model=model,
                finish_reason=finish_reason,
            )
        )

    def _response(
        self,
        request: ModelRequest,
        *,
        text: str,
        refusal: str | None,
        tool_calls: tuple[ToolCall, ...],
        usage: Usage,
        model: str,
        finish_reason: str | None,
    ) -> ModelResponse:
        output = None
        if request.output_schema is not None and not tool_calls:
            if refusal:
                raise ModelOutputError(f"{self.model_id} refused to answer: {refusal}")
            output = request.output_schema.parse(text)
        return ModelResponse(
            text=text,
            output=output,
            tool_calls=tool_calls,
            usage=usage,
            model=model,
            provider=self.provider,
            finish_reason=finish_reason,
        )

    # -- errors --------------------------------------------------------------------------

    def _map_error(self, error: Exception) -> ProviderError | None:
        if isinstance(error, openai.APITimeoutError):
            return self._timeout_error(self.timeout)
        if isinstance(error, openai.APIConnectionError):
            return self._connection_error()
        if isinstance(error, openai.APIStatusError):
            return self._status_error(
                error.status_code, error.response.headers, _api_message(error)
            )
        if isinstance(error, openai.APIError):
            return self._other_error(error)
        return None


def _messages(request: ModelRequest) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    system = request.system_with_examples()
    if system:
        out.append({"role": "system", "content": system})
    out.extend(_message(message) for message in request.messages)
    return out


def _message(message: Message) -> dict[str, Any]:
    if message.role == "tool":
        return {"role": "tool", "tool_call_id": message.tool_call_id, "content": message.content}
    item: dict[str, Any] = {"role": message.role, "content": message.content}
    if message.name:
        item["name"] = message.name
    if message.tool_calls:
        item["content"] = message.content or None
        item["tool_calls"] = [
            {
                "id": call.id,
                "type": "function",
                "function": {"name": call.name, "arguments": json.dumps(dict(call.arguments))},
            }
            for call in message.tool_calls
        ]
    return item


def _tool_call(call_id: str, name: str, arguments: str) -> ToolCall:
    try:
        decoded = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        raise ModelOutputError(
            f"arguments of tool call {name!r} are not valid JSON: {exc.msg}",
            field=f"{name}.arguments",
            raw=arguments,
        ) from exc
    if not isinstance(decoded, dict):
        raise ModelOutputError(
            f"arguments of tool call {name!r} must be a JSON object",
            field=f"{name}.arguments",
            raw=arguments,
        )
    return ToolCall(id=call_id, name=name, arguments=cast(dict[str, Any], decoded))


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    prompt_details = getattr(usage, "prompt_tokens_details", None)
    output_details = getattr(usage, "completion_tokens_details", None)
    return Usage(
        input_tokens=usage.prompt_tokens or 0,
        output_tokens=usage.completion_tokens or 0,
        cached_input_tokens=getattr(prompt_details, "cached_tokens", None) or 0,
        reasoning_tokens=getattr(output_details, "reasoning_tokens", None) or 0,
    )


def _api_message(error: openai.APIStatusError) -> str:
    body = cast(Any, error.body)
    if isinstance(body, dict):
        inner = cast(dict[str, Any], body).get("error", body)
        if isinstance(inner, dict):
            return str(cast(dict[str, Any], inner).get("message", ""))[:300]
    return error.message[:300]
