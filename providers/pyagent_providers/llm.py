"""The `LLM` protocol every model provider implements, and a sync helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from .types import ModelRequest, ModelResponse, StreamEvent

__all__ = ["LLM", "STREAM_SINK", "StreamSink", "complete_sync"]

# The run-context key under which a caller hands patterns a `StreamSink`.
STREAM_SINK = "stream_sink"


@runtime_checkable
class LLM(Protocol):
    """A chat model: `complete` for a whole answer, `stream` for deltas then usage."""

    @property
    def model_id(self) -> str:
        """``"provider:model"``."""
        ...

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer `request`."""
        ...

    def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Answer `request` as `TextDelta` events ending with one `StreamEnd`."""
        ...


@runtime_checkable
class StreamSink(Protocol):
    """Receives a reply's text as it is generated (see ``context[STREAM_SINK]``).

    Patterns pass the run context down unchanged, so the agent that writes the
    customer-facing reply streams into the sink; a pattern that throws partial text away
    (a retry, a fallback model) calls `reset` first.
    """

    def delta(self, text: str) -> None:
        """More reply text."""
        ...

    def reset(self) -> None:
        """Forget the text sent so far: the reply starts again."""
        ...


def complete_sync(llm: LLM, request: ModelRequest) -> ModelResponse:
    """`llm.complete(request)` from synchronous code (not from inside an event loop)."""
    return asyncio.run(llm.complete(request))
