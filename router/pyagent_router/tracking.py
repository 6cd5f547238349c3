"""Cost tracking per call, agent, route, conversation and day.

`CostTracker.meter(llm)` wraps a model so every call it answers is recorded with its usage
and cost, labelled with whatever `cost_labels(...)` is in force (agent, route,
conversation, query...). Cost is computed from the usage the API returned. When a model is
*priced as* another one — the offline `LocalModel` standing in for gpt-4o-mini in a cost
profile — the record is flagged ``estimated``: its token counts were not reported by the
priced model's API.

A `CostTracker` keeps the records; `SQLiteCostTracker` (``sqlite_costs``) is the embedded
default, in memory or in a file that survives restarts (so a per-day budget holds across
processes).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Generator, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal, Protocol

from pyagent_providers import (
    LLM,
    ModelRequest,
    ModelResponse,
    PricingTable,
    StreamEnd,
    StreamEvent,
    Usage,
    priced,
)
from pyagent_providers.telemetry import NO_SPAN, SpanLike, model_span, set_model_result

__all__ = [
    "CallRecord",
    "CostTracker",
    "Dimension",
    "MeteredLLM",
    "call_from_row",
    "collect_calls",
    "cost_labels",
    "current_labels",
]

Dimension = Literal["agent", "route", "conversation_id", "day", "model", "tier"]
_NO_LABELS: Mapping[str, str] = MappingProxyType({})
_LABELS: ContextVar[Mapping[str, str]] = ContextVar("pyagent_cost_labels", default=_NO_LABELS)
_COLLECTORS: ContextVar[tuple[list[CallRecord], ...]] = ContextVar(
    "pyagent_call_collectors", default=()
)


@contextlib.contextmanager
def cost_labels(**labels: str | None) -> Generator[None]:
    """Label every call made inside this block (nested blocks add to the labels)."""
    merged = {**_LABELS.get(), **{k: v for k, v in labels.items() if v is not None}}
    token = _LABELS.set(merged)
    try:
        yield
    finally:
        _LABELS.reset(token)


@contextlib.contextmanager
def collect_calls() -> Generator[list[CallRecord]]:
    """Collect the records of every metered call made inside this block (and its tasks).

    Unlike querying the tracker afterwards, this sees exactly this block's calls even when
    other conversations are being answered concurrently.
    """
    calls: list[CallRecord] = []
    token = _COLLECTORS.set((*_COLLECTORS.get(), calls))
    try:
        yield calls
    finally:
        _COLLECTORS.reset(token)


def current_labels() -> Mapping[str, str]:
    """The labels in force for calls made now."""
    return _LABELS.get()


@dataclass(frozen=True, kw_only=True, slots=True)
class CallRecord:
    """One model call and what it cost."""

    at: datetime
    model: str
    priced_as: str
    tier: str | None
    agent: str | None
    route: str | None
    conversation_id: str | None
    query: str | None
    usage: Usage

    @property
    def cost(self) -> Decimal:
        """What the call cost (zero when its model has no price)."""
        return self.usage.cost or Decimal(0)

    @property
    def estimated(self) -> bool:
        """Whether the cost prices a stand-in's tokens as another model."""
        return self.usage.cost_estimated


class CostTracker(Protocol):
    """Where model calls are recorded and their cost is asked for.

    Async, so a shared database never stalls the event loop; `SQLiteCostTracker` is the
    embedded default.

    Filters (``**where``) and groups (`Dimension`) name a call's labels: ``model``,
    ``priced_as``, ``tier``, ``agent``, ``route``, ``conversation_id``, ``query``, ``day``.
    """

    pricing: PricingTable
    """Prices for models that are not priced explicitly (`MeteredLLM` prices with it)."""

    async def record(self, record: CallRecord) -> None:
        """Store one call; a paid call is never dropped because the store is busy."""
        ...

    async def records(self, **where: str | None) -> list[CallRecord]:
        """Recorded calls matching every ``label=value`` in `where`, oldest first."""
        ...

    async def by(self, dimension: Dimension | None, **where: str | None) -> dict[str, Decimal]:
        """Cost per value of `dimension`, of the calls matching `where`."""
        ...

    async def total(self, **where: str | None) -> Decimal:
        """Total cost of the calls matching `where`."""
        ...

    async def spent_today(self, today: date | None = None) -> Decimal:
        """Cost of today's calls (UTC)."""
        ...

    async def spent_on_conversation(self, conversation_id: str) -> Decimal:
        """Cost of one conversation's calls."""
        ...


class MeteredLLM:
    """A model whose calls are recorded in a `CostTracker`.

    Args:
        llm: The model to meter.
        tracker: Where its calls are recorded.
        tier: Tier label for its calls.
        priced_as: Model id whose prices apply (for a stand-in such as LocalModel); its
            records are marked estimated.
    """

    def __init__(
        self,
        llm: LLM,
        tracker: CostTracker,
        *,
        tier: str | None = None,
        priced_as: str | None = None,
    ) -> None:
        self.inner = llm
        self.tracker = tracker
        self.tier = tier
        self.priced_as = priced_as

    def __repr__(self) -> str:
        return f"MeteredLLM({self.inner!r}, tier={self.tier!r}, priced_as={self.priced_as!r})"

    @property
    def model_id(self) -> str:
        """The metered model's id."""
        return self.inner.model_id

    @property
    def model(self) -> str:
        """The metered model's name."""
        return str(getattr(self.inner, "model", self.inner.model_id))

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Answer with the inner model; record the call and return it priced as recorded."""
        with self._span() as span:
            return await self._record(await self.inner.complete(request), span)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream from the inner model; the call is recorded when the stream ends."""
        # not the current span: this block spans yields, which run in the reader's context
        with self._span(current=False) as span:
            async for event in self.inner.stream(request):
                if isinstance(event, StreamEnd):
                    event = StreamEnd(await self._record(event.response, span))
                yield event

    def _span(self, *, current: bool = True) -> contextlib.AbstractContextManager[SpanLike]:
        """The call's ``chat {model}`` span (a no-op unless tracing is configured)."""
        provider, colon, _ = self.inner.model_id.partition(":")
        return model_span(self.model, provider=provider if colon else None, current=current)

    async def _record(self, response: ModelResponse, span: SpanLike = NO_SPAN) -> ModelResponse:
        """Price `response` (as `priced_as` for a stand-in), record it, and return it.

        The caller gets the response with the recorded cost: both see one number; `span`
        gets its usage, cost and labels (never the conversation's text or id).
        """
        response = priced(response, as_model=self.priced_as, table=self.tracker.pricing)
        labels = current_labels()
        record = CallRecord(
            at=datetime.now(UTC),
            model=response.model_id,
            priced_as=self.priced_as or response.model_id,
            tier=self.tier or labels.get("tier"),
            agent=labels.get("agent"),
            route=labels.get("route"),
            conversation_id=labels.get("conversation_id"),
            query=labels.get("query"),
            usage=response.usage,
        )
        set_model_result(
            span,
            response_model=response.model,
            input_tokens=record.usage.input_tokens,
            output_tokens=record.usage.output_tokens,
            finish_reason=response.finish_reason,
            cost_usd=record.usage.cost,
            cost_estimated=record.estimated,
            tier=record.tier,
            agent=record.agent,
            route=record.route,
        )
        await self.tracker.record(record)
        for calls in _COLLECTORS.get():
            calls.append(record)
        return response


def call_from_row(row: Sequence[Any], *, decode_time: Callable[[Any], datetime]) -> CallRecord:
    """A ``calls`` row (at, model, ... estimated) as a `CallRecord`, for every backend."""
    at, model, priced_as, tier, agent, route, conversation, query, tin, tout, tcached, cost, est = (
        row
    )
    return CallRecord(
        at=decode_time(at),
        model=model,
        priced_as=priced_as,
        tier=tier,
        agent=agent,
        route=route,
        conversation_id=conversation,
        query=query,
        usage=Usage(
            input_tokens=tin,
            output_tokens=tout,
            cached_input_tokens=tcached,
            cost=Decimal(cost),
            cost_estimated=bool(est),
        ),
    )
