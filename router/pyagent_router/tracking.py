"""Cost tracking per call, agent, route, conversation and day.

`CostTracker.meter(llm)` wraps a model so every call it answers is recorded with its usage
and cost, labelled with whatever `cost_labels(...)` is in force (agent, route,
conversation, query...). Cost is computed from the usage the API returned. When a model is
*priced as* another one — the offline `LocalModel` standing in for gpt-4o-mini in a cost
profile — the record is flagged ``estimated``: its token counts were not reported by the
priced model's API.

Records live in SQLite (`SQLiteFile`, as every store): in memory by default, or in a file
that survives restarts (so a per-day budget holds across processes).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Callable, Generator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal, TypeVar

from pyagent_providers import (
    LLM,
    ModelPrice,
    ModelRequest,
    ModelResponse,
    PricingTable,
    StoreUnavailable,
    StreamEnd,
    StreamEvent,
    Usage,
    default_pricing,
    priced,
)
from pyagent_providers.sqlite import SQLiteFile

__all__ = [
    "CallRecord",
    "CostTracker",
    "MeteredLLM",
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

T = TypeVar("T")
logger = logging.getLogger("pyagent.costs")

_FLUSH_EVERY = 256  # rows an in-memory tracker buffers before writing them in one go
_SCHEMA = """
CREATE TABLE IF NOT EXISTS calls (
    at TEXT NOT NULL, day TEXT NOT NULL, model TEXT NOT NULL, priced_as TEXT NOT NULL,
    tier TEXT, agent TEXT, route TEXT, conversation_id TEXT, query TEXT,
    input_tokens INTEGER NOT NULL, output_tokens INTEGER NOT NULL,
    cached_input_tokens INTEGER NOT NULL, cost TEXT NOT NULL, estimated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS calls_day ON calls (day);
CREATE INDEX IF NOT EXISTS calls_conversation ON calls (conversation_id);
"""


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


class CostTracker:
    """Records model calls and answers "what did this cost" by any dimension.

    Args:
        path: SQLite file to keep records in; in memory when ``None``.
        pricing: Price table for models that are not priced explicitly.
    """

    def __init__(self, path: str | Path | None = None, *, pricing: PricingTable | None = None):
        self.path = Path(path) if path is not None else None
        self.pricing = pricing or default_pricing()
        self.db = SQLiteFile(self.path or ":memory:", schema=_SCHEMA)
        self._lock = threading.Lock()  # guards the pending rows
        # In memory, rows wait here until the next read (or _FLUSH_EVERY rows): an INSERT
        # and commit per call was a sizeable part of the router's overhead per call
        # (bench/overhead.py). A file is written at once, so that other processes sharing
        # it see the spending.
        self._pending: list[tuple[Any, ...]] = []

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def meter(
        self,
        llm: LLM,
        *,
        tier: str | None = None,
        priced_as: str | None = None,
    ) -> MeteredLLM:
        """`llm`, with every call recorded here.

        Args:
            llm: The model to meter.
            tier: Tier label for its calls.
            priced_as: Model id whose prices apply (for a stand-in such as LocalModel);
                its records are marked estimated.
        """
        return MeteredLLM(llm, self, tier=tier, priced_as=priced_as)

    def price_of(self, model_id: str) -> ModelPrice | None:
        """The price used for `model_id` (``None`` if the table does not know it)."""
        return self.pricing.find(model_id)

    async def off_loop(self, work: Callable[[], T]) -> T:
        """Run a tracker call from async code without stalling the event loop.

        In a worker thread when the records are in a file another process may hold
        locked; at once when they are in memory.
        """
        return work() if self.path is None else await asyncio.to_thread(work)

    def record(self, record: CallRecord) -> None:
        """Store one call.

        A database that stays locked does not lose the call: it is kept and written with
        the next one (the response it belongs to was paid for and is answered).
        """
        row = (
            record.at.isoformat(),
            record.at.date().isoformat(),
            record.model,
            record.priced_as,
            record.tier,
            record.agent,
            record.route,
            record.conversation_id,
            record.query,
            record.usage.input_tokens,
            record.usage.output_tokens,
            record.usage.cached_input_tokens,
            str(record.cost),
            int(record.estimated),
        )
        with self._lock:
            self._pending.append(row)
            if self.path is not None or len(self._pending) >= _FLUSH_EVERY:
                try:
                    self._flush()
                except StoreUnavailable:
                    logger.warning("costs: database busy; %d call(s) kept", len(self._pending))

    def _flush(self) -> None:
        """Write the pending rows (the caller holds the lock)."""
        if self._pending:
            rows = list(self._pending)
            self.db.write_sync(
                lambda db: db.executemany(
                    "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
                )
            )
            self._pending.clear()

    def records(self, **where: str | None) -> list[CallRecord]:
        """Recorded calls matching every ``column=value`` in `where`, oldest first."""
        clause, args = _where(where)
        with self._lock:
            self._flush()
        rows = self.db.read_sync(
            lambda db: db.execute(
                "SELECT at, model, priced_as, tier, agent, route, conversation_id, query,"
                " input_tokens, output_tokens, cached_input_tokens, cost, estimated"
                f" FROM calls {clause} ORDER BY rowid",
                args,
            ).fetchall()
        )
        return [_record(row) for row in rows]

    def total(self, **where: str | None) -> Decimal:
        """Total cost of the calls matching `where`."""
        return sum(self.by(None, **where).values(), Decimal(0))

    def by(self, dimension: Dimension | None, **where: str | None) -> dict[str, Decimal]:
        """Cost per value of `dimension` (agent, route, conversation_id, day, model, tier).

        Only the two columns are read (budgets ask on every routed call); costs are summed
        as `Decimal` here because SQLite would sum the stored strings as floats.
        """
        if dimension is not None and dimension not in _COLUMNS:
            raise ValueError(f"cannot group calls by {dimension!r}")
        clause, args = _where(where)
        key = f"COALESCE({dimension}, '-')" if dimension else "''"
        with self._lock:
            self._flush()
        rows = self.db.read_sync(
            lambda db: db.execute(f"SELECT {key}, cost FROM calls {clause}", args).fetchall()
        )
        totals: dict[str, Decimal] = {}
        for group, cost in rows:
            totals[group] = totals.get(group, Decimal(0)) + Decimal(cost)
        return totals

    def spent_today(self, today: date | None = None) -> Decimal:
        """Cost of today's calls (UTC)."""
        return self.total(day=(today or datetime.now(UTC).date()).isoformat())

    def spent_on_conversation(self, conversation_id: str) -> Decimal:
        """Cost of one conversation's calls."""
        return self.total(conversation_id=conversation_id)


class MeteredLLM:
    """A model whose calls are recorded in a `CostTracker` (see `CostTracker.meter`)."""

    def __init__(
        self, llm: LLM, tracker: CostTracker, *, tier: str | None, priced_as: str | None
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
        return await self._record(await self.inner.complete(request))

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream from the inner model; the call is recorded when the stream ends."""
        async for event in self.inner.stream(request):
            if isinstance(event, StreamEnd):
                event = StreamEnd(await self._record(event.response))
            yield event

    async def _record(self, response: ModelResponse) -> ModelResponse:
        """Price `response` (as `priced_as` for a stand-in), record it, and return it.

        The caller gets the response with the recorded cost: both see one number.
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
        await self.tracker.off_loop(lambda: self.tracker.record(record))
        for calls in _COLLECTORS.get():
            calls.append(record)
        return response


# The columns calls can be filtered and grouped by.
_COLUMNS = frozenset(
    {"model", "priced_as", "tier", "agent", "route", "conversation_id", "query", "day"}
)


def _where(where: Mapping[str, str | None]) -> tuple[str, tuple[Any, ...]]:
    unknown = set(where) - _COLUMNS
    if unknown:
        raise ValueError(f"cannot filter calls by {sorted(unknown)}")
    if not where:
        return "", ()
    parts = [f"{column} IS ?" for column in where]
    return "WHERE " + " AND ".join(parts), tuple(where.values())


def _record(row: tuple[Any, ...]) -> CallRecord:
    at, model, priced_as, tier, agent, route, conversation, query, tin, tout, tcached, cost, est = (
        row
    )
    return CallRecord(
        at=datetime.fromisoformat(at),
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
