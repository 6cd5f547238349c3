"""`ReAct`: reason and act with native tool calling, for a bounded number of steps."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from pyagent_providers import Message, Usage, UserError

from ..base import Agent, RunResult, as_messages, cost_of_response
from ..tools import Tool, as_tools

__all__ = ["ReAct"]

OUT_OF_STEPS = (
    "You have used all your tool calls. Answer now with what you found; say plainly what "
    "you could not find out."
)


class ReAct:
    """Lets `agent` call `tools` for up to `max_steps` rounds, then answer.

    Tools are typed Python callables (sync or async); their signatures and docstrings
    become JSON schemas. A tool that raises becomes an observation the model sees. When
    the steps run out, the model is asked once more, without tools, to answer with what
    it has — the run always ends with an answer, never a loop.

    Args:
        agent: The reasoning agent (its own tools are replaced by `tools`).
        tools: Name → callable, or a list of callables.
        max_steps: Tool-calling rounds allowed.
    """

    def __init__(
        self,
        agent: Agent,
        tools: Mapping[str, Callable[..., Any]] | Iterable[Callable[..., Any] | Tool],
        max_steps: int = 3,
    ) -> None:
        if max_steps < 1:
            raise UserError("max_steps must be at least 1")
        self.agent = agent
        self.tools = as_tools(tools)
        self.max_steps = max_steps

    @property
    def llm(self) -> Any:
        """The reasoning agent's model."""
        return self.agent.llm

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Think, call tools, observe; answer within `max_steps` rounds."""
        started = time.perf_counter()
        conversation = list(as_messages(input))
        specs = tuple(tool.spec for tool in self.tools.values())
        usage, cost = Usage(), Decimal(0)
        trace: list[dict[str, Any]] = []
        step = 0
        while True:
            out_of_steps = step == self.max_steps
            if out_of_steps:
                conversation.append(Message.user(OUT_OF_STEPS))
            request = self.agent.request(conversation, with_tools=False)
            if not out_of_steps:
                request = replace(request, tools=specs)
            response = await self.agent.llm.complete(request)
            call_cost, _ = cost_of_response(response)
            usage, cost = usage + response.usage, cost + call_cost
            conversation.append(response.to_message())
            if not response.tool_calls or out_of_steps:
                break
            step += 1
            for call in response.tool_calls:
                tool = self.tools.get(call.name)
                observation = (
                    await tool.invoke(call) if tool else f"error: there is no tool {call.name!r}"
                )
                trace.append({"tool": call.name, "ok": not observation.startswith("error:")})
                conversation.append(Message.tool(observation, tool_call_id=call.id, name=call.name))
        return RunResult(
            output=response.output if self.agent.output_schema is not None else response.text,
            metadata={
                "agent": self.agent.name,
                "routed_model": response.model_id,
                "steps": len(trace),
                "tool_calls": trace,
                "max_steps_reached": out_of_steps,
                "latency_s": round(time.perf_counter() - started, 4),
            },
            usage=usage,
            cost=cost,
            messages=tuple(conversation),
        )
