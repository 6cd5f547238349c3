"""Core value types: messages, requests, responses, usage and stream events.

All are frozen dataclasses so they can be shared between tasks and recorded safely.
Sequences passed as lists are stored as tuples.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import KW_ONLY, dataclass, field
from decimal import Decimal
from typing import Any, Literal, get_args

from .errors import UserError
from .output import OutputSchema

__all__ = [
    "Example",
    "Message",
    "ModelRequest",
    "ModelResponse",
    "ModelSettings",
    "Role",
    "StreamEnd",
    "StreamEvent",
    "TextDelta",
    "ToolCall",
    "ToolSpec",
    "Usage",
]

Role = Literal["system", "user", "assistant", "tool"]
_ROLES: frozenset[str] = frozenset(get_args(Role))


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolCall:
    """A model's request to call a tool.

    Attributes:
        id: Provider-assigned call id; echo it in the tool's result message.
        name: Tool name.
        arguments: Decoded JSON arguments.

    """

    id: str
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict[str, Any])


@dataclass(frozen=True, slots=True)
class Message:
    """One conversation turn.

    Build them with `Message.user`, `Message.assistant`, `Message.system` and
    `Message.tool` rather than by role string.
    """

    role: Role
    content: str = ""
    _: KW_ONLY
    name: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tool_call_id: str | None = None

    def __post_init__(self) -> None:
        if self.role not in _ROLES:
            raise UserError(f"Message role must be one of {sorted(_ROLES)}, not {self.role!r}")
        if not isinstance(self.content, str):  # pyright: ignore[reportUnnecessaryIsInstance]
            raise UserError(f"Message content must be str, not {type(self.content).__name__}")
        object.__setattr__(self, "tool_calls", tuple(self.tool_calls))
        if self.role == "tool" and not self.tool_call_id:
            raise UserError("a tool message needs the tool_call_id it answers")

    @classmethod
    def user(cls, content: str, *, name: str | None = None) -> Message:
        """A customer's (or caller's) message."""
        return cls("user", content, name=name)

    @classmethod
    def assistant(cls, content: str = "", *, tool_calls: Iterable[ToolCall] = ()) -> Message:
        """A model's reply, optionally with the tool calls it made."""
        return cls("assistant", content, tool_calls=tuple(tool_calls))

    @classmethod
    def system(cls, content: str) -> Message:
        """Instructions for the model."""
        return cls("system", content)

    @classmethod
    def tool(cls, content: str, *, tool_call_id: str, name: str | None = None) -> Message:
        """The result of a tool call, answering `tool_call_id`."""
        return cls("tool", content, tool_call_id=tool_call_id, name=name)


@dataclass(frozen=True, kw_only=True, slots=True)
class ToolSpec:
    """A tool the model may call: its name, description and JSON-schema parameters."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(
        default_factory=lambda: {"type": "object", "properties": {}}
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class Example:
    """A labelled past case that anchors classification (seed 000's labelled tickets).

    Attributes:
        text: The input, e.g. a ticket's text.
        labels: The right structured answer for it, e.g. ``{"category": "billing"}``.
        title: A short name for reports.
    """

    text: str
    labels: Mapping[str, Any]
    title: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelSettings:
    """Per-call generation settings; ``None`` leaves the provider's default.

    Attributes:
        temperature: Sampling temperature.
        max_tokens: Upper bound on output tokens.
        timeout: Seconds the whole call may take, retries excluded.
        stop: Stop sequences.

    """

    temperature: float | None = None
    max_tokens: int | None = None
    timeout: float | None = None
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelRequest:
    """Everything a provider needs for one call.

    Attributes:
        messages: The conversation, oldest first (system text goes in `system`).
        system: System instructions.
        output_schema: When set, the reply is parsed into this structure.
        tools: Tools the model may call.
        examples: Labelled examples for structured output: LLM providers show them to the
            model as few-shot cases; `LocalModel` classifies by its nearest ones.
        settings: Generation settings.
    """

    messages: tuple[Message, ...]
    system: str | None = None
    output_schema: OutputSchema | None = None
    tools: tuple[ToolSpec, ...] = ()
    examples: tuple[Example, ...] = ()
    settings: ModelSettings = field(default_factory=ModelSettings)

    def __post_init__(self) -> None:
        object.__setattr__(self, "messages", tuple(self.messages))
        object.__setattr__(self, "tools", tuple(self.tools))
        object.__setattr__(self, "examples", tuple(self.examples))
        if not self.messages:
            raise UserError("a model request needs at least one message")
        for message in self.messages:
            if not isinstance(message, Message):  # pyright: ignore[reportUnnecessaryIsInstance]
                raise UserError(f"messages must be Message objects, not {type(message).__name__}")

    @property
    def last_user_text(self) -> str:
        """The most recent user message's text (``""`` if there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""

    def system_with_examples(self) -> str | None:
        """The system text, with the labelled examples appended as few-shot cases."""
        if not self.examples:
            return self.system
        cases = "\n".join(
            f"- {json.dumps(example.text)} -> {json.dumps(dict(example.labels))}"
            for example in self.examples
        )
        intro = "Labelled examples of past cases (input -> correct answer):"
        return "\n\n".join(part for part in (self.system, f"{intro}\n{cases}") if part)

    @classmethod
    def of(
        cls,
        prompt: str | Sequence[Message],
        *,
        system: str | None = None,
        output: OutputSchema | type[Any] | Mapping[str, Any] | None = None,
        tools: Iterable[ToolSpec] = (),
        examples: Iterable[Example] = (),
        settings: ModelSettings | None = None,
    ) -> ModelRequest:
        """Build a request from a prompt string or a message list."""
        messages = (Message.user(prompt),) if isinstance(prompt, str) else tuple(prompt)
        return cls(
            messages=messages,
            system=system,
            output_schema=OutputSchema.of(output) if output is not None else None,
            tools=tuple(tools),
            examples=tuple(examples),
            settings=settings or ModelSettings(),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Usage:
    """Token usage as the API reported it, and what it cost: the one cost every surface reads.

    Providers price each response from the pricing table (`pyagent_providers.priced`); a
    sum of usages sums their costs once. Unknown is never passed off as free.

    Attributes:
        input_tokens: All prompt tokens, including those read from or written to a cache.
        output_tokens: All generated tokens, including reasoning tokens.
        cached_input_tokens: Prompt tokens served from the provider's prompt cache.
        cache_write_tokens: Prompt tokens written to the cache (Anthropic bills these higher).
        reasoning_tokens: Hidden reasoning tokens (already counted in `output_tokens`).
        cost: What these tokens cost in USD; ``None`` when a model in the sum has no price.
        cost_estimated: The cost prices a stand-in's token counts as another model (the
            offline `LocalModel` priced as gpt-4o-mini), so it is an estimate.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_write_tokens: int = 0
    reasoning_tokens: int = 0
    cost: Decimal | None = Decimal(0)
    cost_estimated: bool = False

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_input_tokens=self.cached_input_tokens + other.cached_input_tokens,
            cache_write_tokens=self.cache_write_tokens + other.cache_write_tokens,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
            cost=None if self.cost is None or other.cost is None else self.cost + other.cost,
            cost_estimated=self.cost_estimated or other.cost_estimated,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelResponse:
    """A provider's answer.

    Attributes:
        text: The reply text (for structured output, the raw JSON the model produced).
        output: The parsed structured output (a pydantic model or dict), if requested.
        tool_calls: Tool calls the model asked for.
        usage: Token usage reported by the API.
        model: Model name as the API reported it (may be a dated snapshot).
        provider: Provider name, e.g. ``"openai"``, ``"anthropic"``, ``"local"``.
        latency_s: Wall time of the successful attempt, in seconds.
        finish_reason: Why generation stopped, as the provider said.

    """

    text: str = ""
    output: Any = None
    tool_calls: tuple[ToolCall, ...] = ()
    usage: Usage = field(default_factory=Usage)
    model: str
    provider: str
    latency_s: float = 0.0
    finish_reason: str | None = None

    @property
    def model_id(self) -> str:
        """``"provider:model"``."""
        return f"{self.provider}:{self.model}"

    def to_message(self) -> Message:
        """This answer as an assistant message, for appending to a conversation."""
        return Message.assistant(self.text, tool_calls=self.tool_calls)


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of streamed reply text."""

    text: str


@dataclass(frozen=True, slots=True)
class StreamEnd:
    """The last stream event: the complete response, including usage."""

    response: ModelResponse


StreamEvent = TextDelta | StreamEnd
