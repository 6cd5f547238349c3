"""`ReAct`: reason and act with native tool calling, for a bounded number of steps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, Self

from pyagent_providers import LLM, Message, UserError
from pyagent_router.context import ContextArg

from ..base import Pattern, RunResult, ToolsArg

__all__ = ["ReAct", "ToolAgent"]


class ToolAgent(Protocol):
    """An agent that can be given tools: an `Agent`, or one wrapped by the router."""

    name: str

    @property
    def llm(self) -> LLM:
        """The agent's model."""
        ...

    def with_tools(self, tools: ToolsArg, *, max_tool_rounds: int | None = None) -> Self:
        """The same agent offering `tools`."""
        ...

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> Any:
        """Answer `input`."""
        ...


class ReAct(Pattern):
    """Lets `agent` call `tools` for up to `max_steps` rounds, then answer.

    The loop is the agent's own (`Agent.run`): tools are typed Python callables or
    ``@tool`` functions (sync or async) whose signatures and docstrings become JSON
    schemas; a tool that raises becomes an observation the model sees; when the steps run
    out, the model is asked once more, without tools, to answer with what it has. A
    router-wrapped agent (``router.wrap(agent)``) works too: its calls stay routed,
    metered and priced.

    Args:
        agent: The reasoning agent (its own tools are replaced by `tools`).
        tools: Name → callable, or a list of callables/`Tool`s.
        max_steps: Tool-calling rounds allowed.
    """

    def __init__(self, agent: ToolAgent, tools: ToolsArg, max_steps: int = 3) -> None:
        if max_steps < 1:
            raise UserError("max_steps must be at least 1")
        self.agent = agent.with_tools(tools, max_tool_rounds=max_steps)
        self.max_steps = max_steps

    @property
    def llm(self) -> LLM:
        """The reasoning agent's model."""
        return self.agent.llm

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Think, call tools, observe; answer within `max_steps` rounds."""
        return await self.agent.run(input, context=context)
