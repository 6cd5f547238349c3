"""`SQLiteCostTracker`: the embedded default `CostTracker`.

Records live in SQLite (`SQLiteFile`, as every store). In memory, a call's row waits in a
buffer until the next read (an INSERT per call was a sizeable part of the router's
overhead) and nothing leaves the event loop; in a file, every statement runs in a worker
thread, so another process holding the file locked stalls that call, never the loop.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from pyagent_providers import (
    LLM,
    ModelPrice,
    PricingTable,
    StoreUnavailable,
    default_pricing,
)
from pyagent_providers.sqlite import SQLiteFile

from .tracking import CallRecord, Dimension, MeteredLLM, call_from_row

__all__ = ["SQLiteCostTracker"]

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


class SQLiteCostTracker:
    """A `CostTracker` in SQLite: in memory, or in a file shared by processes.

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
        self, llm: LLM, *, tier: str | None = None, priced_as: str | None = None
    ) -> MeteredLLM:
        """`llm`, with every call recorded here (see `MeteredLLM`)."""
        return MeteredLLM(llm, self, tier=tier, priced_as=priced_as)

    def price_of(self, model_id: str) -> ModelPrice | None:
        """The price used for `model_id` (``None`` if the table does not know it)."""
        return self.pricing.find(model_id)

    async def record(self, record: CallRecord) -> None:
        """Store one call.

        A database that stays locked does not lose the call: it is kept and written with
        the next one (the response it belongs to was paid for and is answered).
        """
        await self._off_loop(lambda: self._record(record))

    async def records(self, **where: str | None) -> list[CallRecord]:
        """Recorded calls matching every ``label=value`` in `where`, oldest first."""
        return await self._off_loop(lambda: self._records(where))

    async def by(self, dimension: Dimension | None, **where: str | None) -> dict[str, Decimal]:
        """Cost per value of `dimension` (agent, route, conversation_id, day, model, tier)."""
        return await self._off_loop(lambda: self._by(dimension, where))

    async def total(self, **where: str | None) -> Decimal:
        """Total cost of the calls matching `where`."""
        return sum((await self.by(None, **where)).values(), Decimal(0))

    async def spent_today(self, today: date | None = None) -> Decimal:
        """Cost of today's calls (UTC)."""
        return await self.total(day=(today or datetime.now(UTC).date()).isoformat())

    async def spent_on_conversation(self, conversation_id: str) -> Decimal:
        """Cost of one conversation's calls."""
        return await self.total(conversation_id=conversation_id)

    async def _off_loop(self, work: Callable[[], T]) -> T:
        """In a worker thread for a file (another process may hold it locked), else now."""
        return work() if self.path is None else await asyncio.to_thread(work)

    def _record(self, record: CallRecord) -> None:
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

    def _records(self, where: Mapping[str, str | None]) -> list[CallRecord]:
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
        return [_call(row) for row in rows]

    def _by(
        self, dimension: Dimension | None, where: Mapping[str, str | None]
    ) -> dict[str, Decimal]:
        # Only the two columns are read (budgets ask on every routed call); costs are
        # summed as Decimal here because SQLite would sum the stored strings as floats.
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


def _call(row: tuple[Any, ...]) -> CallRecord:
    return call_from_row(row, decode_time=datetime.fromisoformat)
