"""A light recipe for the multi-process fault test: the real guards, a model that echoes.

The model answers ``re: <the customer's redacted text>`` after ``$FAULT_MODEL_DELAY``
seconds (0.3 by default), long enough to kill a process in the middle of a turn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pyagent_guardrails import GuardrailChain, LengthGuard, PIIGuard, PlaceholderMap
from pyagent_patterns import Agent, ChatHandler
from pyagent_patterns.chat import open_store
from pyagent_providers import FunctionModel, ModelRequest

Classification = Literal["local"]


def _echo(request: ModelRequest) -> str:
    return f"re: {request.messages[-1].content}"


def chat_handler(
    store: str | Path | None = None, *, classification: Classification = "local", **options: Any
) -> ChatHandler:
    """The echo system behind the real input guards, on `open_store(store)`."""
    conversations = open_store(store)
    placeholders = PlaceholderMap(salt=conversations.secret())
    guard = GuardrailChain(
        [LengthGuard(max_chars=8_000), PIIGuard(redact=True, placeholders=placeholders)]
    )
    delay = float(os.environ.get("FAULT_MODEL_DELAY", "0.3"))
    system = Agent("echo", FunctionModel(_echo, delay=delay))
    return ChatHandler(system, conversations, guard=guard, placeholders=placeholders, **options)


async def demo() -> None:
    """Nothing to show: this recipe exists for tests."""
    print("fault recipe")
