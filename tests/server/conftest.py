"""A real uvicorn server on 127.0.0.1 around a ChatHandler over a fast test system."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from pyagent_server import create_app, issue_customer_token

from pyagent_patterns import (
    Agent,
    ChatHandler,
    HumanDecision,
    HumanInTheLoop,
    Message,
    RunResult,
    SQLiteConversationStore,
    SQLiteEscalationQueue,
)
from pyagent_patterns.base import as_messages
from pyagent_patterns.chat import RateLimits
from pyagent_providers import STREAM_SINK, FunctionModel, ScriptedModel, StreamSink

SECRET = b"test-customer-secret"
PERSON_TOKEN = "person-token-dana"


class EchoOrEscalate:
    """Echoes the latest customer message; a message mentioning a lawyer goes to a person.

    A message saying "explode" makes it fail, as a bug would.

    Only the latest message decides, so a conversation handed back to the bot stays with it.
    """

    def __init__(self, tmp_path: Path) -> None:
        self.bot = Agent(
            "bot", FunctionModel(lambda request: "echo: " + request.messages[-1].content)
        )
        self.escalation = HumanInTheLoop(
            Agent("human_prep", ScriptedModel(default="Customer wants a lawyer.")),
            lambda output, metadata: HumanDecision(approved=False),
            queue=SQLiteEscalationQueue(tmp_path / "c.sqlite3"),
        )

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        messages = as_messages(input)
        if "explode" in messages[-1].content:  # a bug in the system, after some streaming
            sink = (context or {}).get(STREAM_SINK)
            if isinstance(sink, StreamSink):
                sink.delta("partial ")
            raise RuntimeError(f"failed on {messages[-1].content}")
        if "lawyer" in messages[-1].content:
            return await self.escalation.run(
                messages, context={**(context or {}), "route": "escalate"}
            )
        return await self.bot.run(messages, context=context)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """`uvicorn.Server` serving an app in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Server:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the server did not start")
            self.thread.join(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)


def customer(user_id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_customer_token(SECRET, user_id)}"}


PERSON = {"Authorization": f"Bearer {PERSON_TOKEN}"}


@pytest.fixture
def limits() -> RateLimits:
    """Overridden by ``@pytest.mark.parametrize("limits", ...)`` where a test needs it."""
    return RateLimits(per_conversation=None, per_user=None)


@pytest.fixture
def handler(tmp_path: Path, limits: RateLimits) -> ChatHandler:
    return ChatHandler(
        EchoOrEscalate(tmp_path), SQLiteConversationStore(tmp_path / "c.sqlite3"), limits=limits
    )


@pytest.fixture
def server(handler: ChatHandler) -> Iterator[Server]:
    app = create_app(handler, customer_secret=SECRET, agent_tokens={PERSON_TOKEN: "Dana"})
    with Server(app) as running:
        yield running


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as http:
        yield http
