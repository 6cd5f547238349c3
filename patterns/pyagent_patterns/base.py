"""`Agent`, `RunResult` and the `Runnable` protocol every pattern follows.

An `Agent` is one model with instructions, optionally tools or a structured output.

Every pattern is a `Runnable`: ``await pattern.run(text_or_messages, context=...)``.
`context` is a plain mapping that patterns pass down unchanged (e.g. a conversation id or
the customer's tier); `RunResult.metadata` is where each pattern records what it decided.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Protocol, Self, runtime_checkable

from pyagent_providers import (
    LLM,
    Example,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    OutputSchema,
    ProviderError,
    StreamSink,
    TextDelta,
    ToolCall,
    Usage,
    UserError,
    infer_model,
)
from pyagent_providers.concurrency import run_blocking
from pyagent_router import cost_labels
from pyagent_router.context import ContextArg, RunContext

from .actions.gate import ActionGate, Handoff
from .record import TurnRecord
from .tools import Tool, ToolResult, as_tools

ToolsArg = Mapping[str, Callable[..., Any]] | Iterable[Callable[..., Any] | Tool]
OUT_OF_STEPS = (
    "You have used all your tool calls. Answer now with what you found; say plainly what "
    "you could not find out."
)
# What the customer is told when a tool call ended the turn (`Handoff`).
HANDOFF_REPLIES = {
    "approval": (
        "I've asked a member of our team to approve this step; you'll hear back here as soon "
        "as they have. Your reference is {case}."
    ),
    "handoff": (
        "I've passed your conversation to a member of our team, who will reply here. "
        "Your reference is {case}."
    ),
}

__all__ = ["Agent", "Costed", "Message", "Pattern", "RunResult", "Runnable", "as_messages"]

MAX_INPUT_CHARS = 200_000  # a guard against runaway input; LengthGuard sets the real policy


class Costed(Protocol):
    """Anything that used tokens and cost money: results, estimates."""

    @property
    def usage(self) -> Usage:
        """Tokens used."""
        ...

    @property
    def cost(self) -> Decimal | None:
        """What those tokens cost (``None``: unknown)."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    """What a pattern run produced.

    Attributes:
        output: The reply text, or the parsed structured output.
        record: Everything the run decided (`TurnRecord`): route, tier and why, model,
            difficulty, escalation, recovery level, tool calls, ...
        usage: Tokens used by every model call of the run, and their cost.
        messages: The conversation including the final reply.
    """

    output: Any
    record: TurnRecord = field(default_factory=TurnRecord)
    usage: Usage = field(default_factory=Usage)
    messages: tuple[Message, ...] = ()

    @property
    def cost(self) -> Decimal | None:
        """What the run's calls cost (``usage.cost``; ``None`` when a model has no price)."""
        return self.usage.cost

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The record under the seed's keys (``route``, ``routed_model``, ...), read-only."""
        cost: dict[str, Any] = {"cost_usd": None if self.cost is None else str(self.cost)}
        if self.usage.cost_estimated:
            cost["cost_estimated"] = True
        return MappingProxyType({**self.record.as_metadata(), **cost})

    def with_metadata(self, **values: Any) -> Self:
        """A copy with `values` recorded (see `TurnRecord.updated`)."""
        return replace(self, record=self.record.updated(**values))

    def after(self, *earlier: Costed) -> Self:
        """A copy whose usage (and so cost) also includes `earlier` calls (a classifier)."""
        usage = self.usage
        for result in earlier:
            usage = usage + result.usage
        return replace(self, usage=usage)


@runtime_checkable
class Runnable(Protocol):
    """Anything that answers a conversation: agents and every pattern."""

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Answer `input` (a message or a conversation)."""
        ...


class Pattern:
    """Base of the patterns: gives every `Runnable` a blocking `run_sync`."""

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Answer `input` (a message or a conversation)."""
        raise NotImplementedError

    def run_sync(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """`run` for scripts and notebooks without an event loop of their own.

        Raises:
            UserError: Called from inside a running event loop (``await run`` there).
        """
        return run_blocking(lambda: self.run(input, context=context))


def as_messages(input: str | Sequence[Message]) -> tuple[Message, ...]:
    """Validate a run's input and return it as a conversation.

    Raises:
        UserError: The input is empty, too large or not text/messages.
    """
    if isinstance(input, str):
        messages: tuple[Message, ...] = (Message.user(input),)
    elif isinstance(input, list | tuple):
        messages = tuple(input)
        if any(not isinstance(m, Message) for m in messages):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UserError("a conversation must be a list of Message objects")
    else:
        raise UserError(f"input must be a str or a list of Message, not {type(input).__name__}")
    if not messages or not any(m.content.strip() for m in messages if m.role == "user"):
        raise UserError("the message is empty")
    if sum(len(m.content) for m in messages) > MAX_INPUT_CHARS:
        raise UserError(f"the conversation is longer than {MAX_INPUT_CHARS} characters")
    return messages


async def _stream_into(llm: LLM, request: ModelRequest, sink: StreamSink) -> ModelResponse:
    """Stream `request` into `sink`; the complete response once the stream ends."""
    async for event in llm.stream(request):
        if isinstance(event, TextDelta):
            sink.delta(event.text)
        else:
            return event.response
    raise ProviderError("the stream ended without a final response", provider=llm.model_id)


class Agent(Pattern):
    """One model with a role: instructions, optional tools, optional structured output.

    Args:
        name: Name used in metadata and logs.
        llm: The model: any `LLM`, or a ``"provider:model"`` id such as
            ``"openai:gpt-4o-mini"`` (see `pyagent_providers.infer_model`).
        system_prompt: Instructions.
        tools: Callables (or a name → callable dict) the model may call.
        output_type: A pydantic model class or JSON-schema dict for structured output.
        examples: Labelled examples sent with structured-output requests.
        settings: Generation settings.
        max_tool_rounds: Tool-call rounds before the agent must answer.
    """

    def __init__(
        self,
        name: str,
        llm: LLM | str,
        *,
        system_prompt: str = "",
        tools: ToolsArg = (),
        output_type: type[Any] | Mapping[str, Any] | None = None,
        examples: Iterable[Example] = (),
        settings: ModelSettings | None = None,
        max_tool_rounds: int = 5,
    ) -> None:
        self.name = name
        self.llm = infer_model(llm) if isinstance(llm, str) else llm
        self.system_prompt = system_prompt
        self.tools = as_tools(tools)
        self.output_schema = OutputSchema.of(output_type) if output_type is not None else None
        self.examples = tuple(examples)
        self.settings = settings or ModelSettings()
        self.max_tool_rounds = max_tool_rounds

    def __repr__(self) -> str:
        return f"Agent({self.name!r}, {self.llm.model_id})"

    def with_llm(self, llm: LLM) -> Agent:
        """The same agent on another model (the router uses this to re-route a call)."""
        clone = copy.copy(self)
        clone.llm = llm
        return clone

    def request(self, messages: Sequence[Message], *, with_tools: bool = True) -> ModelRequest:
        """The model request this agent makes for `messages`."""
        system = [self.system_prompt] if self.system_prompt else []
        system += [m.content for m in messages if m.role == "system"]
        return ModelRequest(
            messages=tuple(m for m in messages if m.role != "system"),
            system="\n\n".join(system) or None,
            output_schema=self.output_schema,
            tools=tuple(t.spec for t in self.tools.values()) if with_tools else (),
            examples=self.examples if self.output_schema is not None else (),
            settings=self.settings,
        )

    def with_tools(self, tools: ToolsArg, *, max_tool_rounds: int | None = None) -> Agent:
        """The same agent offering `tools` instead of its own (ReAct uses this)."""
        clone = copy.copy(self)
        clone.tools = as_tools(tools)
        if max_tool_rounds is not None:
            clone.max_tool_rounds = max_tool_rounds
        return clone

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Answer `input`, running tool calls until the model answers.

        This is the one tool loop of the framework. After `max_tool_rounds` rounds the
        model is told to answer with what it found and asked once more without tools, so
        a run always ends with an answer. A plain-text reply (no output schema, no tools
        on offer) is streamed into the run context's `StreamSink`
        (`RunContext.stream_sink`) when there is one.
        """
        started = time.perf_counter()
        ctx = RunContext.of(context)
        if ctx.message_id is None:  # a run of its own: its side effects are keyed to it
            ctx = ctx.with_(message_id=uuid.uuid4().hex)
        conversation = list(as_messages(input))
        usage, unpriced = Usage(), set[str]()
        trace: list[ToolResult] = []
        handoff: Handoff | None = None
        rounds = 0
        while True:
            offer_tools = rounds < self.max_tool_rounds
            if rounds and not offer_tools:
                conversation.append(Message.user(OUT_OF_STEPS))
            request = self.request(conversation, with_tools=offer_tools)
            response = await self._complete(request, ctx.stream_sink)
            usage += response.usage
            if response.usage.cost is None:
                unpriced.add(response.model_id)
            conversation.append(response.to_message())
            if not response.tool_calls or not offer_tools:
                break
            rounds += 1
            handoff = await self._call_tools(response.tool_calls, ctx, conversation, trace)
            if handoff is not None:
                break
        record = TurnRecord(
            agent=self.name,
            model=response.model_id,
            tool_calls=tuple(trace),
            max_steps_reached=rounds > 0 and not offer_tools and handoff is None,
            latency_s=round(time.perf_counter() - started, 4),
            notes={"unpriced_models": sorted(unpriced)} if unpriced else {},
        )
        output: Any = response.output if self.output_schema is not None else response.text
        if handoff is not None:
            output = HANDOFF_REPLIES[handoff.kind].format(case=handoff.case_id or "on its way")
            conversation.append(Message.assistant(output))
            record = record.updated(
                escalated=True,
                ticket_id=handoff.case_id,
                escalation_reason=handoff.reason,
                escalation_reasons=[
                    "approval_required" if handoff.kind == "approval" else "tool_handoff"
                ],
            )
        return RunResult(output=output, record=record, usage=usage, messages=tuple(conversation))

    async def _call_tools(
        self,
        calls: Sequence[ToolCall],
        context: RunContext,
        conversation: list[Message],
        trace: list[ToolResult],
    ) -> Handoff | None:
        """Run one round of tool calls through the action gate; a hand-off ends the round."""
        gate = ActionGate.current()
        for call in calls:
            outcome = await gate.call(self.tools.get(call.name), call, context)
            trace.append(outcome.result)
            conversation.append(
                Message.tool(outcome.result.content, tool_call_id=call.id, name=call.name)
            )
            if outcome.handoff is not None:
                return outcome.handoff
        return None

    async def _complete(self, request: ModelRequest, sink: Any) -> ModelResponse:
        with cost_labels(agent=self.name):  # metered models record who spent what
            # `is not None` first: isinstance against a Protocol costs ~10 us on 3.11
            if (
                sink is not None
                and isinstance(sink, StreamSink)
                and not request.tools
                and not self.output_schema
            ):
                return await _stream_into(self.llm, request, sink)
            return await self.llm.complete(request)
