"""OpenTelemetry spans for a support turn, its model calls and its tool calls.

With an exporter configured (`configure_tracing`), each customer turn is one trace::

    invoke_agent support          (turn_span: conversation, message, route, tier, outcome)
    ├── chat gpt-4o-mini          (model_span: model, tokens, cost, tier, agent)
    ├── execute_tool lookup_order (tool_span: tool, verdict, outcome)
    └── chat gpt-4o               ...

Names follow the OpenTelemetry GenAI semantic conventions as of semantic-conventions
v1.41.0 (status Development; the last release before the GenAI conventions moved to
their own repository, ``semantic-conventions-genai``): span names ``invoke_agent {agent}``,
``chat {gen_ai.request.model}``, ``execute_tool {gen_ai.tool.name}``; attributes
``gen_ai.operation.name``, ``gen_ai.provider.name`` (with the deprecated ``gen_ai.system``
beside it, for backends still on v1.36 or earlier), ``gen_ai.request.model``,
``gen_ai.response.model``, ``gen_ai.response.finish_reasons``, ``gen_ai.usage.input_tokens``,
``gen_ai.usage.output_tokens``, ``gen_ai.conversation.id``, ``gen_ai.agent.name``,
``gen_ai.tool.name``, ``gen_ai.tool.type``, ``gen_ai.tool.call.id`` and ``error.type``.
What the conventions do not cover is under ``pyagent.*`` (cost, tier, route, verdicts).

No content is recorded: never message text, system instructions, tool arguments or tool
results (the conventions' opt-in ``gen_ai.input.messages`` & co. are not used), and
exceptions are recorded by class name only (``error.type``), since an exception's message
may quote what the customer wrote. Ids are recorded as the caller passes them: pass the
stored (pseudonymised) form.

``opentelemetry-api`` is imported on first use; without it, or with it but no tracer
provider installed, every helper is a no-op that yields `NO_SPAN` and costs a function call
or two. ``opentelemetry-sdk`` and the OTLP exporter (the ``otel`` extra) are needed only
by `configure_tracing`. Tests route the spans to their own provider with
`use_tracer_provider` instead of replacing the process-wide one.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import sys
from collections.abc import Generator, Mapping, Sequence
from contextvars import ContextVar
from decimal import Decimal
from types import ModuleType
from typing import TYPE_CHECKING, Literal, Protocol, TypeAlias
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter
    from opentelemetry.trace import Tracer, TracerProvider

__all__ = [
    "NO_SPAN",
    "AttributeValue",
    "SpanLike",
    "ToolOutcome",
    "ToolVerdict",
    "build_tracer_provider",
    "configure_tracing",
    "model_span",
    "set_attributes",
    "set_model_result",
    "set_tool_result",
    "tool_span",
    "turn_span",
    "use_tracer_provider",
]

logger = logging.getLogger("pyagent.telemetry")

AttributeValue: TypeAlias = str | bool | int | float | Sequence[str]
"""What an attribute may hold (a `Decimal` given to the setters is stored as a float)."""
ToolVerdict = Literal["allow", "deny", "ask"]
ToolOutcome = Literal[
    "ok", "failed", "replayed", "denied", "awaiting_approval", "declined", "dry_run", "handed_off"
]

AGENT_NAME = "support"
TRACER_NAME = "pyagent"
PREFIX = "pyagent."
_TRACES_PATH = "v1/traces"


class SpanLike(Protocol):
    """What the helpers yield: an OpenTelemetry span, or `NO_SPAN`."""

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Set one attribute."""
        ...

    def is_recording(self) -> bool:
        """Whether attributes set now are kept (False for `NO_SPAN`)."""
        ...


class _NoSpan:
    """The span of a process that is not tracing: it keeps nothing."""

    __slots__ = ()

    def set_attribute(self, key: str, value: AttributeValue) -> None:
        """Drop the attribute."""

    def is_recording(self) -> bool:
        """Never."""
        return False

    def __repr__(self) -> str:
        return "NO_SPAN"


NO_SPAN: SpanLike = _NoSpan()
"""The span yielded while not tracing."""


_OVERRIDE: ContextVar[TracerProvider | None] = ContextVar("pyagent_tracer_provider", default=None)


@functools.cache
def _trace_api() -> ModuleType | None:
    """``opentelemetry.trace``, imported on first use; ``None`` when it is not installed."""
    try:
        from opentelemetry import trace
    except ImportError:
        return None
    return trace


def _installed_provider() -> TracerProvider | None:
    """The process-wide tracer provider, or ``None`` while none is installed."""
    trace = _trace_api()
    if trace is None:
        return None
    provider: TracerProvider = trace.get_tracer_provider()
    # before a provider is installed the API hands out a proxy whose spans go nowhere
    if isinstance(provider, trace.ProxyTracerProvider | trace.NoOpTracerProvider):
        return None
    return provider


_last_tracer: tuple[TracerProvider, Tracer] | None = None


def _tracer() -> Tracer | None:
    """The tracer spans go to now, or ``None`` when nothing would keep them."""
    global _last_tracer
    provider = _OVERRIDE.get() or _installed_provider()
    if provider is None:
        return None
    last = _last_tracer
    if last is not None and last[0] is provider:
        return last[1]
    tracer = provider.get_tracer(TRACER_NAME)
    _last_tracer = (provider, tracer)
    return tracer


@contextlib.contextmanager
def use_tracer_provider(provider: TracerProvider) -> Generator[None]:
    """Send the spans started inside this block (and its tasks) to `provider`.

    For tests and embedders: the process-wide provider (`configure_tracing`) is left alone.
    """
    token = _OVERRIDE.set(provider)
    try:
        yield
    finally:
        _OVERRIDE.reset(token)


def _attribute(value: AttributeValue | Decimal) -> AttributeValue:
    return float(value) if isinstance(value, Decimal) else value


def set_attributes(
    span: SpanLike,
    attributes: Mapping[str, AttributeValue | Decimal | None] | None = None,
    /,
    **values: AttributeValue | Decimal | None,
) -> None:
    """Set `attributes` by their full names and `values` as ``pyagent.<name>``; skip ``None``.

    E.g. a turn's outcome: ``set_attributes(span, route="billing", tier="small",
    confidence=0.82, escalated=False, sent=True)``.
    """
    if not span.is_recording():
        return
    for key, value in (attributes or {}).items():
        if value is not None:
            span.set_attribute(key, _attribute(value))
    for key, value in values.items():
        if value is not None:
            span.set_attribute(PREFIX + key, _attribute(value))


@contextlib.contextmanager
def _span(
    name: str,
    attributes: Mapping[str, AttributeValue | None],
    *,
    kind: Literal["client", "internal"],
    current: bool = True,
) -> Generator[SpanLike]:
    tracer = _tracer()
    if tracer is None:
        yield NO_SPAN
        return
    from opentelemetry.trace import SpanKind, Status, StatusCode

    start = tracer.start_as_current_span if current else tracer.start_span
    started = start(
        name,
        kind=SpanKind.CLIENT if kind == "client" else SpanKind.INTERNAL,
        attributes={k: v for k, v in attributes.items() if v is not None},
        # an exception's message and traceback may quote the customer: record its class only
        record_exception=False,
        set_status_on_exception=False,
    )
    with started as span:
        try:
            yield span
        except GeneratorExit:  # a stream its reader stopped early: not an error
            raise
        except BaseException as error:
            error_type = type(error).__qualname__
            span.set_attribute("error.type", error_type)
            span.set_status(Status(StatusCode.ERROR, error_type))
            raise


def turn_span(
    conversation_id: str | None, *, message_id: str | None = None
) -> contextlib.AbstractContextManager[SpanLike]:
    """The span of one customer turn: ``invoke_agent support``, the root of its trace.

    Set the outcome on it with `set_attributes` (``route``, ``tier``, ``confidence``,
    ``escalated``, ``sent`` ...). Pass the conversation's stored (pseudonymised) id.
    """
    return _span(
        f"invoke_agent {AGENT_NAME}",
        {
            "gen_ai.operation.name": "invoke_agent",
            "gen_ai.agent.name": AGENT_NAME,
            "gen_ai.conversation.id": conversation_id,
            PREFIX + "message_id": message_id,
        },
        kind="internal",
    )


def model_span(
    model: str, *, provider: str | None, current: bool = True
) -> contextlib.AbstractContextManager[SpanLike]:
    """The span of one model call: ``chat {model}``; record its result with `set_model_result`.

    Args:
        model: The model name requested (``gpt-4o-mini``, not ``openai:gpt-4o-mini``).
        provider: Its provider (``openai``, ``anthropic``, ``local``...).
        current: Make it the current span while the block runs. Pass ``False`` in an async
            generator: its block spans yields, where the reader's context must not change.
    """
    return _span(
        f"chat {model}",
        {
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model,
            "gen_ai.provider.name": provider,
            "gen_ai.system": provider,
        },
        kind="client",
        current=current,
    )


def set_model_result(
    span: SpanLike,
    *,
    response_model: str | None,
    input_tokens: int,
    output_tokens: int,
    finish_reason: str | None = None,
    cost_usd: Decimal | float | None,
    cost_estimated: bool,
    tier: str | None = None,
    agent: str | None = None,
    route: str | None = None,
) -> None:
    """Record what a model call used and cost; an unknown cost (``None``) is left unset."""
    set_attributes(
        span,
        {
            "gen_ai.response.model": response_model,
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens,
            "gen_ai.response.finish_reasons": [finish_reason] if finish_reason else None,
        },
        cost_usd=cost_usd,
        cost_estimated=cost_estimated,
        tier=tier,
        agent=agent,
        route=route,
    )


def tool_span(
    name: str, *, read_only: bool, call_id: str | None = None
) -> contextlib.AbstractContextManager[SpanLike]:
    """The span of one tool call: ``execute_tool {name}``; record its end with `set_tool_result`.

    Args:
        name: The tool's name.
        read_only: Whether the tool only reads.
        call_id: The provider's tool-call id, if any (never the arguments).
    """
    return _span(
        f"execute_tool {name}",
        {
            "gen_ai.operation.name": "execute_tool",
            "gen_ai.tool.name": name,
            "gen_ai.tool.type": "function",
            "gen_ai.tool.call.id": call_id,
            PREFIX + "tool.read_only": read_only,
        },
        kind="internal",
    )


def set_tool_result(
    span: SpanLike,
    *,
    verdict: ToolVerdict | None = None,
    outcome: ToolOutcome | None = None,
    idempotency_key: str | None = None,
) -> None:
    """Record the policy's verdict and the call's outcome (never its arguments or result)."""
    set_attributes(
        span,
        {
            PREFIX + "tool.verdict": verdict,
            PREFIX + "tool.outcome": outcome,
            PREFIX + "tool.idempotency_key": idempotency_key,
        },
    )


def _exporter_names(environ: Mapping[str, str]) -> list[str]:
    names = [
        name.strip().lower()
        for name in environ.get("OTEL_TRACES_EXPORTER", "").split(",")
        if name.strip()
    ]
    if not names and environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip():
        names = ["otlp"]
    if environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip() and not names:
        names = ["otlp"]
    return [] if "none" in names else names


def _traces_endpoint(environ: Mapping[str, str]) -> str | None:
    """The OTLP/HTTP traces URL the environment names (``None``: the exporter's default)."""
    endpoint = environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if endpoint:
        return endpoint
    base = environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    return f"{base.rstrip('/')}/{_TRACES_PATH}" if base else None


def build_tracer_provider(
    environ: Mapping[str, str] = os.environ,
) -> SDKTracerProvider | None:
    """An SDK tracer provider exporting as `environ` asks, or ``None`` (a warning says why).

    Tracing is asked for by ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or ``..._TRACES_ENDPOINT``),
    or ``OTEL_TRACES_EXPORTER`` = ``otlp`` and/or ``console`` (spans as JSON on stderr);
    ``OTEL_SDK_DISABLED=true`` or ``OTEL_TRACES_EXPORTER=none`` turn it off. The service
    is ``OTEL_SERVICE_NAME``, else ``pyagent``. Never raises: a bad endpoint, an unknown
    exporter or a missing ``otel`` extra is logged and tracing stays off.
    """
    names = _exporter_names(environ)
    if not names or environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider as SDKTracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            ConsoleSpanExporter,
        )
    except ImportError:
        logger.warning("tracing is off: install the otel extra (pip install 'pyagent[otel]')")
        return None
    exporters: list[SpanExporter] = []
    for name in names:
        if name == "console":
            exporters.append(ConsoleSpanExporter(out=sys.stderr))
        elif name == "otlp":
            exporter = _otlp_exporter(environ)
            if exporter is None:
                return None
            exporters.append(exporter)
        else:
            logger.warning("tracing is off: unknown OTEL_TRACES_EXPORTER %r", name)
            return None
    service = environ.get("OTEL_SERVICE_NAME", "").strip() or TRACER_NAME
    try:
        provider = SDKTracerProvider(resource=Resource.create({SERVICE_NAME: service}))
        for exporter in exporters:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    except Exception as error:  # a bad OTEL_BSP_* value, say: never fail the server over it
        logger.warning("tracing is off: %s: %s", type(error).__name__, error)
        return None
    return provider


def _otlp_exporter(environ: Mapping[str, str]) -> SpanExporter | None:
    endpoint = _traces_endpoint(environ)
    if endpoint is not None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            logger.warning(
                "tracing is off: OTLP endpoint %r is not an http(s) URL such as "
                "http://localhost:4318",
                endpoint,
            )
            return None
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get(
        "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
    )
    if protocol.strip() != "http/protobuf":
        logger.warning("OTLP protocol %r is not supported; exporting http/protobuf", protocol)
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    except ImportError:
        logger.warning("tracing is off: install the otel extra (pip install 'pyagent[otel]')")
        return None
    try:
        return OTLPSpanExporter(endpoint=endpoint)
    except Exception as error:
        logger.warning("tracing is off: OTLP exporter: %s: %s", type(error).__name__, error)
        return None


_configured = False


def configure_tracing(environ: Mapping[str, str] = os.environ) -> bool:
    """Install the tracer provider `environ` asks for (see `build_tracer_provider`).

    Returns whether spans are exported: also ``True`` when another tracer provider was
    installed already (``opentelemetry-instrument``, an embedding app), which is kept.
    Never raises; calling it again changes nothing.
    """
    global _configured
    trace = _trace_api()
    if trace is None:
        if _exporter_names(environ):
            logger.warning("tracing is off: install the otel extra (pip install 'pyagent[otel]')")
        return False
    if _configured or _installed_provider() is not None:
        return True
    provider = build_tracer_provider(environ)
    if provider is None:
        return False
    trace.set_tracer_provider(provider)
    _configured = True
    logger.info("tracing on: %s", ", ".join(_exporter_names(environ)))
    return True
