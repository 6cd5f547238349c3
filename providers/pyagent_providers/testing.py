"""Test doubles: `ScriptedModel` plays a script, `FunctionModel` calls your function.

Both implement `LLM`, record every request in `calls`, support structured output, tool
calls, streaming and scripted errors, and report token usage counted with tiktoken so
cost tracking can be tested. Their model ids use the ``test`` provider, priced at zero.

Script items and function results may be:

- ``str``: reply text (parsed against the request's output schema, if it has one);
- a ``dict`` or pydantic model: a structured answer;
- a `ToolCall` or a list of them: the model asks for tools;
- a `ModelResponse`: returned as it is;
- an exception instance: raised, e.g. ``RateLimitError("slow down", retry_after=1)``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from typing import Any, TypeAlias

import pydantic

from .errors import PyAgentError
from .pricing import priced
from .tokens import count_message_tokens, count_tokens
from .types import ModelRequest, ModelResponse, StreamEnd, StreamEvent, TextDelta, ToolCall, Usage

__all__ = ["FunctionModel", "ScriptExhausted", "ScriptItem", "ScriptedModel"]

ScriptItem: TypeAlias = (
    str
    | Mapping[str, Any]
    | pydantic.BaseModel
    | ToolCall
    | Sequence[ToolCall]
    | ModelResponse
    | BaseException
)
_WORDS = re.compile(r"\S+\s*|\s+")


class ScriptExhausted(PyAgentError):
    """A `ScriptedModel` was called more often than its script allows."""


class _TestModel:
    """Shared behaviour: recording, response building and streaming."""

    def __init__(self, model: str, *, delay: float = 0.0) -> None:
        self.model = model
        self.delay = delay
        self.calls: list[ModelRequest] = []

    @property
    def model_id(self) -> str:
        """``"test:<model>"``."""
        return f"test:{self.model}"

    async def _answer(self, request: ModelRequest) -> ScriptItem:
        raise NotImplementedError

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Record `request` and answer it from the script or function."""
        self.calls.append(request)
        if self.delay:
            await asyncio.sleep(self.delay)
        return self._response(request, await self._answer(request))

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Like `complete`, delivered word by word, then the full response."""
        response = await self.complete(request)
        for piece in _WORDS.findall(response.text):
            yield TextDelta(piece)
        yield StreamEnd(response)

    def _response(self, request: ModelRequest, item: ScriptItem) -> ModelResponse:
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, ModelResponse):
            return priced(item)  # as a provider prices what its API returned
        text, output, calls = "", None, ()
        if isinstance(item, ToolCall):
            calls = (item,)
        elif isinstance(item, str):
            text = item
        elif isinstance(item, pydantic.BaseModel | Mapping):
            data = item.model_dump() if isinstance(item, pydantic.BaseModel) else dict(item)
            text = json.dumps(data)
        else:
            calls = tuple(item)
        if request.output_schema is not None and not calls:
            output = request.output_schema.parse(text)
        usage = Usage(
            input_tokens=count_message_tokens(
                request.messages, self.model_id, system=request.system
            ),
            output_tokens=count_tokens(text, self.model_id) + 10 * len(calls),
        )
        return priced(
            ModelResponse(
                text=text,
                output=output,
                tool_calls=calls,
                usage=usage,
                model=self.model,
                provider="test",
                finish_reason="tool_calls" if calls else "stop",
            )
        )


class ScriptedModel(_TestModel):
    """Answers each call with the next item of a script.

    Args:
        script: Items consumed one per call, in order.
        default: Answer once the script is used up; without it, `ScriptExhausted` is raised.
        model: Model name (the id is ``"test:<model>"``).
        delay: Seconds to wait before each answer (for timeout tests).

    """

    def __init__(
        self,
        script: Iterable[ScriptItem] = (),
        *,
        default: ScriptItem | None = None,
        model: str = "scripted",
        delay: float = 0.0,
    ) -> None:
        super().__init__(model, delay=delay)
        self.script: deque[ScriptItem] = deque(script)
        self.default = default

    def add(self, *items: ScriptItem) -> None:
        """Append answers to the script."""
        self.script.extend(items)

    async def _answer(self, request: ModelRequest) -> ScriptItem:
        if self.script:
            return self.script.popleft()
        if self.default is not None:
            return self.default
        raise ScriptExhausted(f"{self.model_id} has no scripted answer for call {len(self.calls)}")


class FunctionModel(_TestModel):
    """Answers each call with ``function(request)`` (sync or async).

    Args:
        function: Gets the `ModelRequest`, returns a script item (or raises).
        model: Model name (the id is ``"test:<model>"``).
        delay: Seconds to wait before each answer.

    """

    def __init__(
        self,
        function: Callable[[ModelRequest], ScriptItem | Awaitable[ScriptItem]],
        *,
        model: str = "function",
        delay: float = 0.0,
    ) -> None:
        super().__init__(model, delay=delay)
        self.function = function

    async def _answer(self, request: ModelRequest) -> ScriptItem:
        result = self.function(request)
        if inspect.isawaitable(result):
            return await result
        return result
