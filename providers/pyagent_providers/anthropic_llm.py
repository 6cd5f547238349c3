"""`AnthropicLLM`: Claude through the official ``anthropic`` SDK (Messages API).

Structured output is a forced tool: the schema becomes a tool's ``input_schema`` and
``tool_choice`` makes the model call it, so the answer arrives as validated-shape JSON in
the tool's input. When the request also carries real tools, the model may call any tool
(``tool_choice: any``) and its answer is the call to the output tool.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
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
    import anthropic
    from anthropic.types import Message as AnthropicMessage
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("anthropic", "anthropic") from exc

__all__ = ["AnthropicLLM"]

keep_request_bodies_out_of_logs("anthropic._base_client")

DEFAULT_MAX_TOKENS = 1024  # the Messages API requires max_tokens on every call


class AnthropicLLM(SDKProvider[anthropic.AsyncAnthropic]):
    """A Claude model, e.g. ``AnthropicLLM("claude-sonnet-4-20250514")``.

    Args:
        model: Model name (optionally prefixed ``"anthropic:"``).
        api_key: API key; defaults to the ``ANTHROPIC_API_KEY`` environment variable.
        api_key_env: Environment variable to read the key from instead.
        base_url: API base URL (defaults to Anthropic's).
        timeout: Seconds one call may take, unless the request's settings say otherwise.
        retry: Our retry policy (the SDK's own retries are disabled).
        requests_per_second: Client-side rate limit shared by instances with the same
            base URL and rate; ``None`` for no limit.
        client: An ``anthropic.AsyncAnthropic`` to use instead of building one.

    """

    provider = "anthropic"
    default_api_key_env: str | None = "ANTHROPIC_API_KEY"

    def _make_client(self, api_key: str) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(api_key=api_key, base_url=self.base_url, max_retries=0)

    def _adopt_client(self, client: anthropic.AsyncAnthropic) -> anthropic.AsyncAnthropic:
        return client.with_options(max_retries=0)

    # -- request -------------------------------------------------------------------------

    def _request_params(self, request: ModelRequest, time_limit: float) -> dict[str, Any]:
        settings = request.settings
        params: dict[str, Any] = {
            "model": self.model,
            "messages": _messages(request.messages),
            "max_tokens": settings.max_tokens or DEFAULT_MAX_TOKENS,
            "timeout": time_limit,
        }
        system = request.system_with_examples()
        if system:
            params["system"] = system
        if settings.temperature is not None:
            params["temperature"] = settings.temperature
        if settings.stop:
            params["stop_sequences"] = list(settings.stop)
        tools = [
            {"name": t.name, "description": t.description, "input_schema": dict(t.parameters)}
            for t in request.tools
        ]
        schema = request.output_schema
        if schema is not None:
            tools.append(
                {
                    "name": schema.name,
                    "description": schema.description or "Give your answer in this structure.",
                    "input_schema": dict(schema.json_schema),
                }
            )
            params["tool_choice"] = (
                {"type": "any"} if request.tools else {"type": "tool", "name": schema.name}
            )
        if tools:
            params["tools"] = tools
        return params

    # -- response ------------------------------------------------------------------------

    async def _complete_once(
        self, client: anthropic.AsyncAnthropic, request: ModelRequest, time_limit: float
    ) -> ModelResponse:
        message = cast(
            AnthropicMessage,
            await client.messages.create(**self._request_params(request, time_limit)),
        )
        blocks: list[dict[str, Any]] = [block.model_dump() for block in message.content]
        return self._response(
            request,
            blocks=blocks,
            usage=_usage(message.usage),
            model=message.model,
            finish_reason=message.stop_reason,
        )

    async def _stream_once(
        self, client: anthropic.AsyncAnthropic, request: ModelRequest, time_limit: float
    ) -> AsyncIterator[StreamEvent]:
        params = self._request_params(request, time_limit)
        stream = await client.messages.create(**params, stream=True)
        blocks: dict[int, dict[str, Any]] = {}
        usage = Usage()
        model = self.model
        finish_reason: str | None = None
        async with stream:
            async for event in stream:
                if event.type == "message_start":
                    model = event.message.model
                    usage = _usage(event.message.usage)
                elif event.type == "content_block_start":
                    block = event.content_block.model_dump()
                    block["partial_json"] = ""
                    blocks[event.index] = block
                elif event.type == "content_block_delta":
                    block = blocks[event.index]
                    delta = event.delta
                    if delta.type == "text_delta":
                        block["text"] = block.get("text", "") + delta.text
                        yield TextDelta(delta.text)
                    elif delta.type == "input_json_delta":
                        block["partial_json"] += delta.partial_json
                elif event.type == "message_delta":
                    finish_reason = event.delta.stop_reason or finish_reason
                    usage = _merge_stream_usage(usage, event.usage)
        for block in blocks.values():
            if block["type"] == "tool_use":
                block["input"] = _decode_tool_input(block)
        yield StreamEnd(
            self._response(
                request,
                blocks=[blocks[index] for index in sorted(blocks)],
                usage=usage,
                model=model,
                finish_reason=finish_reason,
            )
        )

    def _response(
        self,
        request: ModelRequest,
        *,
        blocks: list[dict[str, Any]],
        usage: Usage,
        model: str,
        finish_reason: str | None,
    ) -> ModelResponse:
        schema = request.output_schema
        text = "".join(str(b.get("text", "")) for b in blocks if b["type"] == "text")
        output: Any = None
        calls: list[ToolCall] = []
        for block in blocks:
            if block["type"] != "tool_use":
                continue
            arguments = cast(dict[str, Any], block.get("input") or {})
            if schema is not None and block["name"] == schema.name:
                text = json.dumps(arguments)
                output = schema.parse(arguments)
            else:
                calls.append(ToolCall(id=block["id"], name=block["name"], arguments=arguments))
        if schema is not None and output is None and not calls:
            if text.strip():
                output = schema.parse(text)  # a model that answered in JSON text anyway
            else:
                raise ModelOutputError(
                    f"{self.model_id} did not call the output tool {schema.name!r}"
                )
        return ModelResponse(
            text=text,
            output=output,
            tool_calls=tuple(calls),
            usage=usage,
            model=model,
            provider=self.provider,
            finish_reason=finish_reason,
        )

    # -- errors --------------------------------------------------------------------------

    def _map_error(self, error: Exception) -> ProviderError | None:
        if isinstance(error, anthropic.APITimeoutError):
            return self._timeout_error(self.timeout)
        if isinstance(error, anthropic.APIConnectionError):
            return self._connection_error()
        if isinstance(error, anthropic.APIStatusError):
            detail = error.api_message or error.message or ""
            return self._status_error(error.status_code, error.response.headers, detail)
        if isinstance(error, anthropic.APIError):
            return self._other_error(error)
        return None


def _messages(messages: tuple[Message, ...]) -> list[dict[str, Any]]:
    """Messages API turns: tool results ride in user turns; same-role turns are merged."""
    out: list[dict[str, Any]] = []
    for message in messages:
        if message.role == "system":
            continue  # callers put instructions in ModelRequest.system
        role = "assistant" if message.role == "assistant" else "user"
        blocks: list[dict[str, Any]] = []
        if message.role == "tool":
            blocks.append(
                {
                    "type": "tool_result",
                    "tool_use_id": message.tool_call_id,
                    "content": message.content,
                }
            )
        elif message.content:
            blocks.append({"type": "text", "text": message.content})
        blocks += [
            {"type": "tool_use", "id": c.id, "name": c.name, "input": dict(c.arguments)}
            for c in message.tool_calls
        ]
        if out and out[-1]["role"] == role:
            out[-1]["content"].extend(blocks)
        else:
            out.append({"role": role, "content": blocks})
    return out


def _decode_tool_input(block: dict[str, Any]) -> dict[str, Any]:
    raw = str(block.get("partial_json") or "")
    if not raw:
        return cast(dict[str, Any], block.get("input") or {})
    try:
        decoded = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ModelOutputError(
            f"input of tool call {block.get('name')!r} is not valid JSON: {exc.msg}",
            field=f"{block.get('name')}.input",
            raw=raw,
        ) from exc
    return cast(dict[str, Any], decoded)


def _usage(usage: Any) -> Usage:
    """Our usage from Anthropic's: its input_tokens exclude cache reads and writes."""
    cache_read = getattr(usage, "cache_read_input_tokens", None) or 0
    cache_write = getattr(usage, "cache_creation_input_tokens", None) or 0
    details = getattr(usage, "output_tokens_details", None)
    return Usage(
        input_tokens=(getattr(usage, "input_tokens", None) or 0) + cache_read + cache_write,
        output_tokens=getattr(usage, "output_tokens", None) or 0,
        cached_input_tokens=cache_read,
        cache_write_tokens=cache_write,
        reasoning_tokens=getattr(details, "thinking_tokens", None) or 0,
    )


def _merge_stream_usage(start: Usage, delta: Any) -> Usage:
    """message_delta carries cumulative output tokens (and, lately, input figures too)."""
    if getattr(delta, "input_tokens", None) is not None:
        return _usage(delta)
    return replace(
        start,
        output_tokens=delta.output_tokens or 0,
        reasoning_tokens=_usage(delta).reasoning_tokens,
    )
