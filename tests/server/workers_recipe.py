"""A light recipe for ``pyagent serve --workers`` tests (``--recipe tests.server.workers_recipe``).

Its bot echoes the message and names the process that answered; each handler's warm-up
leaves ``warmed-<pid>`` beside the store, so a test sees which processes warmed up.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pyagent_patterns import Agent
from pyagent_patterns.chat import ChatHandler, SQLiteConversationStore
from pyagent_providers import FunctionModel, ModelRequest

Classification = Literal["local"]


def _echo(request: ModelRequest) -> str:
    return f"echo from {os.getpid()}: {request.messages[-1].content}"


def chat_handler(
    store: str | None, *, classification: Classification = "local", **options: Any
) -> ChatHandler:
    path = Path(store or Path(os.environ["PYAGENT_DATA_DIR"]) / "conversations.sqlite3")

    async def warm_up() -> None:
        (path.parent / f"warmed-{os.getpid()}").touch()

    return ChatHandler(
        Agent("bot", FunctionModel(_echo)), SQLiteConversationStore(path), warm_up=warm_up
    )
