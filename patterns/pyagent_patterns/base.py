"""`Agent`, `RunResult` and the `Runnable` protocol every pattern follows.

An `Agent` is one model with instructions, optionally tools or a structured output.

Every pattern is a `Runnable`: ``await pattern.run(text_or_messages, context=...)``.
`context` is a plain mapping that patterns pass down unchanged (e.g. a conversation id or
the customer's tier); `RunResult.metadata` is where each pattern records what it decided.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol, Self, runtime_checkable

from pyagent_providers import (
    LLM,
    STREAM_SINK,
    Example,
    Message,
    ModelRequest,
    ModelResponse,
    ModelSettings,
    OutputSchema,
    ProviderError,
    StreamSink,
    TextDelta,
    Usage,
    UserError,
    cost_of_response,
)
from pyagent_router import cost_labels

from .tools import Tool, as_tools

__all__ = ["Agent", "Costed", "Message", "RunResult", "Runnable", "as_messages", "cost_of_response"]

MAX_INPUT_CHARS = 200_000  # a guard against runaway input; LengthGuard sets the real policy


class Costed(Protocol):
    """Anything that used tokens and cost money: results, estimates."""

    @property
    def usage(self) -> Usage:
        """Tokens used."""
        ...

    @property
    def cost(self) -> Decimal:
        """What those tokens cost."""
        ...


@dataclass(frozen=True, kw_only=True, slots=True)
class RunResult:
    """What a pattern run produced.

    Attributes:
        output: The reply text, or the parsed structured output.
        metadata: What was decided on the way: ``route``, ``routed_model``, ``tier``,
            ``difficulty``, ``recovery_level``, ``escalated``, ``latency_s``, ...
        usage: Tokens used by every model call of the run.
        cost: Cost of those calls, from the pricing table and the usage the APIs returned.
        messages: The conversation including the final reply.
    """

    output: Any
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    messages: tuple[Message, ...] = ()

    def with_metadata(self, **values: Any) -> Self:
        """A copy with `values` added to the metadata."""
        return replace(self, metadata={**self.metadata, **values})

    def after(self, *earlier: Costed) -> Self:
        """A copy whose usage and cost also include `earlier` calls (e.g. a classifier)."""
        usage, cost = self.usage, self.cost
        for result in earlier:
            usage, cost = usage + result.usage, cost + result.cost
        return replace(self, usage=usage, cost=cost)


@runtime_checkable
class Runnable(Protocol):
    """Anything that answers a conversation: agents and every pattern."""

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Answer `input` (a message or a conversation)."""
        ...


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


class Agent:
    """One model with a role: instructions, optional tools, optional structured output.

    Args:
        name: Name used in metadata and logs.
        llm: The model (any `LLM`).
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
        llm: LLM,
        *,
        system_prompt: str = "",
        tools: Mapping[str, Callable[..., Any]] | Iterable[Callable[..., Any] | Tool] = (),
        output_type: type[Any] | Mapping[str, Any] | None = None,
        examples: Iterable[Example] = (),
        settings: ModelSettings | None = None,
        max_tool_rounds: int = 5,
    ) -> None:
        self.name = name
        self.llm = llm
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

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Answer `input`, running tool calls until the model answers (or rounds run out).

        A plain-text reply (no output schema, no tools on offer) is streamed into the
        run context's `StreamSink` (``context["stream_sink"]``) when there is one.
        """
        started = time.perf_counter()
        sink = (context or {}).get(STREAM_SINK)
        conversation = list(as_messages(input))
        usage, cost, unpriced = Usage(), Decimal(0), set[str]()
        rounds = 0
        while True:
            offer_tools = rounds < self.max_tool_rounds
            request = self.request(conversation, with_tools=offer_tools)
            with cost_labels(agent=self.name):  # metered models record who spent what
                # `is not None` first: isinstance against a Protocol costs ~10 us on 3.11
                if (
                    sink is not None
                    and isinstance(sink, StreamSink)
                    and not request.tools
                    and not self.output_schema
                ):
                    response = await _stream_into(self.llm, request, sink)
                else:
                    response = await self.llm.complete(request)
            call_cost, priced = cost_of_response(response)
            usage, cost = usage + response.usage, cost + call_cost
            if not priced:
                unpriced.add(response.model_id)
            conversation.append(response.to_message())
            if not response.tool_calls or not offer_tools:
                break
            rounds += 1
            for call in response.tool_calls:
                tool = self.tools.get(call.name)
                observation = (
                    await tool.invoke(call) if tool else f"error: there is no tool {call.name!r}"
                )
                conversation.append(Message.tool(observation, tool_call_id=call.id, name=call.name))
        metadata: dict[str, Any] = {
            "agent": self.name,
            "routed_model": response.model_id,
            "latency_s": round(time.perf_counter() - started, 4),
        }
        if rounds:
            metadata["tool_rounds"] = rounds
        if unpriced:
            metadata["unpriced_models"] = sorted(unpriced)
        return RunResult(
            output=response.output if self.output_schema is not None else response.text,
            metadata=metadata,
            usage=usage,
            cost=cost,
            messages=tuple(conversation),
        )
