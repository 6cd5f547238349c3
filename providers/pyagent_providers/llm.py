"""The `LLM` protocol every model provider implements, and a sync helper."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Protocol, runtime_checkable

from .types import ModelRequest, ModelResponse, StreamEvent

__all__ = ["LLM", "complete_sync"]


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


def complete_sync(llm: LLM, request: ModelRequest) -> ModelResponse:
    """`llm.complete(request)` from synchronous code (not from inside an event loop)."""
    return asyncio.run(llm.complete(request))
