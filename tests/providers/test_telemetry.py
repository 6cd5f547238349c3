"""OpenTelemetry spans: one trace per turn, a chat span per metered model call, no content."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import pytest

from pyagent_patterns import Agent
from pyagent_providers import (
    Message,
    ModelRequest,
    RateLimitError,
    ScriptedModel,
    StreamEnd,
    TextDelta,
    telemetry,
)
from pyagent_providers.telemetry import (
    NO_SPAN,
    build_tracer_provider,
    configure_tracing,
    model_span,
    set_attributes,
    set_tool_result,
    tool_span,
    turn_span,
    use_tracer_provider,
)
from pyagent_router import (
    MeteredLLM,
    ModelRegistry,
    RouterMiddleware,
    SQLiteCostTracker,
    cost_labels,
)

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

PRICED_AS = "openai:gpt-4o-mini"
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PII = (EMAIL, CARD, "Jane Doe")


class Traced:
    """An SDK provider that keeps its finished spans in memory."""

    def __init__(self, provider: TracerProvider, exporter: InMemorySpanExporter) -> None:
        self.provider, self.exporter = provider, exporter

    def spans(self) -> Sequence[ReadableSpan]:
        return self.exporter.get_finished_spans()

    def named(self, name: str) -> ReadableSpan:
        [span] = [s for s in self.spans() if s.name == name]
        return span


@pytest.fixture
def traced() -> Iterator[Traced]:
    pytest.importorskip("opentelemetry.sdk")
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield Traced(provider, exporter)
    provider.shutdown()


def _metered(model: ScriptedModel, *, tier: str = "small") -> MeteredLLM:
    return MeteredLLM(model, SQLiteCostTracker(), tier=tier, priced_as=PRICED_AS)


def _every_value(span: ReadableSpan) -> list[str]:
    """Every attribute value of the span and its events, and its status text, as text."""
    values = [str(v) for v in (span.attributes or {}).values()]
    for event in span.events:
        values += [event.name, *(str(v) for v in (event.attributes or {}).values())]
    return [*values, span.name, span.status.description or ""]


async def test_a_metered_call_gives_one_chat_span_with_usage_and_cost(traced: Traced) -> None:
    llm = _metered(ScriptedModel(["Your invoice is under Settings."]))
    with use_tracer_provider(traced.provider), cost_labels(agent="billing", route="billing"):
        response = await llm.complete(ModelRequest.of("Where is my invoice?"))

    [span] = traced.spans()
    assert span.name == "chat scripted"
    assert span.kind.name == "CLIENT"
    attributes = dict(span.attributes or {})
    cost = response.usage.cost
    assert cost is not None and cost > 0  # the stand-in priced as gpt-4o-mini
    assert attributes == {
        "gen_ai.operation.name": "chat",
        "gen_ai.request.model": "scripted",
        "gen_ai.provider.name": "test",
        "gen_ai.system": "test",
        "gen_ai.response.model": "scripted",
        "gen_ai.response.finish_reasons": ("stop",),
        "gen_ai.usage.input_tokens": response.usage.input_tokens,
        "gen_ai.usage.output_tokens": response.usage.output_tokens,
        "pyagent.cost_usd": float(cost),
        "pyagent.cost_estimated": True,
        "pyagent.tier": "small",
        "pyagent.agent": "billing",
        "pyagent.route": "billing",
    }
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0
    assert span.status.status_code.name == "UNSET"


async def test_model_and_tool_spans_are_children_of_the_turn_span(traced: Traced) -> None:
    llm = _metered(ScriptedModel(["Let me look.", "It ships today."]))
    with use_tracer_provider(traced.provider):
        with turn_span("conv-7f3a", message_id="m-1") as turn:
            await llm.complete(ModelRequest.of("Where is my order?"))
            with tool_span("lookup_order", read_only=True, call_id="call_1") as tool:
                set_tool_result(tool, verdict="allow", outcome="ok", idempotency_key="k-1")
            await llm.complete(ModelRequest.of("And?"))
            set_attributes(
                turn, route="orders", tier="small", confidence=0.82, escalated=False, sent=True
            )
            set_attributes(turn, {"gen_ai.response.model": None}, reason=None)  # None: unset

    root = traced.named("invoke_agent support")
    assert root.parent is None and root.kind.name == "INTERNAL"
    assert dict(root.attributes or {}) == {
        "gen_ai.operation.name": "invoke_agent",
        "gen_ai.agent.name": "support",
        "gen_ai.conversation.id": "conv-7f3a",
        "pyagent.message_id": "m-1",
        "pyagent.route": "orders",
        "pyagent.tier": "small",
        "pyagent.confidence": 0.82,
        "pyagent.escalated": False,
        "pyagent.sent": True,
    }
    tool = traced.named("execute_tool lookup_order")
    assert dict(tool.attributes or {}) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "lookup_order",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.call.id": "call_1",
        "pyagent.tool.read_only": True,
        "pyagent.tool.verdict": "allow",
        "pyagent.tool.outcome": "ok",
        "pyagent.tool.idempotency_key": "k-1",
    }
    chats = [s for s in traced.spans() if s.name == "chat scripted"]
    assert len(chats) == 2 and len(traced.spans()) == 4
    assert root.context is not None
    for child in [*chats, tool]:
        assert child.context is not None and child.parent is not None
        assert child.context.trace_id == root.context.trace_id
        assert child.parent.span_id == root.context.span_id


async def test_a_streamed_call_is_one_chat_span_and_leaves_the_reader_context_alone(
    traced: Traced,
) -> None:
    from opentelemetry import trace

    llm = _metered(ScriptedModel(["Your refund is on its way."]))
    with use_tracer_provider(traced.provider), turn_span("c1", message_id=None) as turn:
        events = [e async for e in llm.stream(ModelRequest.of("refund?"))]
        assert trace.get_current_span() is turn  # the reader's current span never changed
    assert isinstance(events[0], TextDelta) and isinstance(events[-1], StreamEnd)
    chat, root = traced.named("chat scripted"), traced.named("invoke_agent support")
    assert chat.parent is not None and root.context is not None
    assert chat.parent.span_id == root.context.span_id
    usage = events[-1].response.usage
    assert (chat.attributes or {})["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert "pyagent.message_id" not in (root.attributes or {})


async def test_a_stream_read_partly_ends_its_span_without_an_error(traced: Traced) -> None:
    llm = _metered(ScriptedModel(["one two three four"]))
    with use_tracer_provider(traced.provider):
        stream = llm.stream(ModelRequest.of("count"))
        async for _ in stream:
            break
        await stream.aclose()  # type: ignore[attr-defined]
    [chat] = traced.spans()
    assert chat.status.status_code.name == "UNSET"
    assert "gen_ai.usage.input_tokens" not in (chat.attributes or {})


async def test_a_failed_call_records_the_error_class_only(traced: Traced) -> None:
    secret = f"rate limited while answering {EMAIL}"
    llm = _metered(ScriptedModel([RateLimitError(secret)]))
    with use_tracer_provider(traced.provider), pytest.raises(RateLimitError):
        await llm.complete(ModelRequest.of("hi"))
    [chat] = traced.spans()
    assert chat.status.status_code.name == "ERROR"
    assert (chat.attributes or {})["error.type"] == "RateLimitError"
    assert not chat.events  # no exception event: its message may quote the customer
    assert not any(EMAIL in value for value in _every_value(chat))


async def test_no_attribute_holds_what_the_customer_wrote(traced: Traced) -> None:
    prompt = f"I am Jane Doe, {EMAIL}, card {CARD}: where is my refund?"
    reply = f"Jane Doe, the refund to card {CARD} was sent to {EMAIL}."
    llm = _metered(ScriptedModel([reply]))
    with use_tracer_provider(traced.provider):
        with turn_span("anon:5f0c", message_id="m-9") as turn:
            with cost_labels(agent="refunds", route="refunds", conversation_id=EMAIL):
                await llm.complete(
                    ModelRequest.of([Message.user(prompt)], system=f"Customer: {EMAIL}")
                )
            with (
                pytest.raises(ValueError, match="Jane"),
                tool_span("refund", read_only=False) as tool,
            ):
                set_tool_result(tool, verdict="ask", outcome="failed")
                raise ValueError(f"no refund for Jane Doe ({CARD})")
            set_attributes(turn, route="refunds", escalated=True, sent=False)
    spans = traced.spans()
    assert len(spans) == 3
    values = [value for span in spans for value in _every_value(span)]
    leaks = [value for value in values if any(pii in value for pii in PII)]
    assert leaks == []
    assert (traced.named("execute_tool refund").attributes or {})["error.type"] == "ValueError"


async def test_router_labels_reach_the_chat_span(traced: Traced) -> None:
    fast = ScriptedModel(default="Your invoice is under Settings.", model="fast")
    registry = ModelRegistry()
    registry.register("fast", fast, tier="fast", priced_as=PRICED_AS)
    agent = RouterMiddleware(registry, tracker=SQLiteCostTracker()).wrap(Agent("billing", fast))
    with use_tracer_provider(traced.provider), turn_span("c-42", message_id="m-1"):
        result = await agent.run("Where is my invoice?", context={"conversation_id": "c-42"})
    chat = traced.named("chat fast")
    attributes = chat.attributes or {}
    assert attributes["pyagent.tier"] == "fast" and attributes["pyagent.agent"] == "billing"
    assert attributes["pyagent.cost_usd"] == float(Decimal(result.metadata["cost_usd"]))
    root = traced.named("invoke_agent support")
    assert chat.parent is not None and root.context is not None
    assert chat.parent.span_id == root.context.span_id


def test_without_a_tracer_provider_the_helpers_are_cheap_no_ops() -> None:
    # no provider is installed in the test process (configure_tracing is tested apart)
    assert telemetry._installed_provider() is None  # pyright: ignore[reportPrivateUsage]
    started = time.perf_counter()
    for _ in range(10_000):
        with turn_span("c", message_id="m") as turn, model_span("m", provider="p") as chat:
            set_attributes(turn, route="r", sent=True)
            with tool_span("t", read_only=True) as tool:
                set_tool_result(tool, verdict="allow", outcome="ok")
    per_turn = (time.perf_counter() - started) / 10_000
    assert turn is NO_SPAN and chat is NO_SPAN and tool is NO_SPAN
    assert not NO_SPAN.is_recording()
    assert per_turn < 100e-6  # a few microseconds in practice


async def test_without_opentelemetry_installed_everything_is_a_no_op(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)  # import fails
    telemetry._trace_api.cache_clear()  # pyright: ignore[reportPrivateUsage]
    try:
        llm = _metered(ScriptedModel(["ok"]))
        with turn_span("c", message_id=None) as turn:
            assert turn is NO_SPAN
            assert (await llm.complete(ModelRequest.of("hi"))).text == "ok"
        with caplog.at_level(logging.WARNING, "pyagent.telemetry"):
            assert configure_tracing({"OTEL_TRACES_EXPORTER": "console"}) is False
        assert "otel extra" in caplog.text
        assert configure_tracing({}) is False
    finally:
        telemetry._trace_api.cache_clear()  # pyright: ignore[reportPrivateUsage]


def test_configure_tracing_without_an_exporter_is_off() -> None:
    assert configure_tracing({}) is False
    assert configure_tracing({"OTEL_TRACES_EXPORTER": "none"}) is False
    assert telemetry._installed_provider() is None  # pyright: ignore[reportPrivateUsage]


def test_build_tracer_provider_reads_the_environment(caplog: pytest.LogCaptureFixture) -> None:
    pytest.importorskip("opentelemetry.sdk")
    assert build_tracer_provider({}) is None
    assert build_tracer_provider({"OTEL_TRACES_EXPORTER": "none"}) is None
    disabled = {"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"}
    assert build_tracer_provider(disabled) is None

    console = build_tracer_provider({"OTEL_TRACES_EXPORTER": "console"})
    assert console is not None
    assert console.resource.attributes["service.name"] == "pyagent"
    console.shutdown()
    named = build_tracer_provider(
        {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SERVICE_NAME": "desk"}
    )
    assert named is not None and named.resource.attributes["service.name"] == "desk"
    named.shutdown()  # nothing was recorded, so nothing is sent

    with caplog.at_level(logging.WARNING, "pyagent.telemetry"):
        assert build_tracer_provider({"OTEL_EXPORTER_OTLP_ENDPOINT": "not a url"}) is None
        assert build_tracer_provider({"OTEL_EXPORTER_OTLP_ENDPOINT": "localhost:4318"}) is None
        assert build_tracer_provider({"OTEL_TRACES_EXPORTER": "zipkin"}) is None
    assert caplog.text.count("tracing is off") == 3


def test_configure_tracing_exports_a_turn_as_one_trace() -> None:
    """In a process of its own: the tracer provider is installed once per process."""
    pytest.importorskip("opentelemetry.sdk")
    script = """
import asyncio, sys
from pyagent_providers import ModelRequest, ScriptedModel
from pyagent_providers.telemetry import configure_tracing, set_attributes, turn_span
from pyagent_router import MeteredLLM, SQLiteCostTracker

assert configure_tracing() is True
assert configure_tracing() is True  # again: nothing changes

async def main():
    llm = MeteredLLM(ScriptedModel(["ok"]), SQLiteCostTracker(), tier="small")
    with turn_span("c-1", message_id="m-1") as turn:
        await llm.complete(ModelRequest.of("hello"))
        set_attributes(turn, sent=True)

asyncio.run(main())
"""
    env = {**os.environ, "OTEL_TRACES_EXPORTER": "console", "OTEL_SERVICE_NAME": "desk-test"}
    env.pop("OTEL_EXPORTER_OTLP_ENDPOINT", None)
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    # the console exporter writes each span as JSON on stderr when the process exits
    assert '"name": "invoke_agent support"' in done.stderr
    assert '"name": "chat scripted"' in done.stderr
    assert '"service.name": "desk-test"' in done.stderr
    assert '"pyagent.sent": true' in done.stderr
    assert done.stdout == ""
