"""`PostgresCostTracker`: the `CostTracker` in PostgreSQL, and `open_cost_tracker`.

With ``PYAGENT_DATABASE_URL=postgresql://…`` every process of the service records its
calls in the one ``calls`` table (migration ``0001``), so a per-day or per-conversation
budget counts every process's spending. Costs are ``NUMERIC`` and summed by PostgreSQL,
exactly. A call the database cannot take right now (`StoreUnavailable`) is kept in memory
and written with the next one: a paid call is never dropped.

Needs the ``postgres`` extra (``pip install 'pyagent[postgres]'``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, LiteralString

from pyagent_providers import (
    LLM,
    ModelPrice,
    PricingTable,
    StoreUnavailable,
    default_pricing,
)
from pyagent_providers.postgres import PostgresDatabase, database_url

from .sqlite_costs import SQLiteCostTracker
from .tracking import CallRecord, CostTracker, Dimension, MeteredLLM, call_from_row

__all__ = ["PostgresCostTracker", "open_cost_tracker"]

logger = logging.getLogger("pyagent.costs")

# The columns calls can be filtered and grouped by (as `SQLiteCostTracker`'s), as SQL.
_COLUMNS: dict[str, LiteralString] = {
    "model": "model",
    "priced_as": "priced_as",
    "tier": "tier",
    "agent": "agent",
    "route": "route",
    "conversation_id": "conversation_id",
    "query": "query",
    "day": "day",
}
_INSERT: LiteralString = (
    "INSERT INTO calls (at, day, model, priced_as, tier, agent, route, conversation_id,"
    " query, input_tokens, output_tokens, cached_input_tokens, cost, estimated)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def open_cost_tracker(
    path: str | Path | None = None, *, pricing: PricingTable | None = None
) -> CostTracker:
    """The cost tracker the configuration names.

    ``$PYAGENT_DATABASE_URL`` set: a `PostgresCostTracker` on that database (spending is
    shared by every process). Unset: a `SQLiteCostTracker` at `path` (in memory when
    ``None``).

    Raises:
        UserError: ``$PYAGENT_DATABASE_URL`` is not a PostgreSQL URL.
        MissingDependencyError: PostgreSQL without the ``postgres`` extra.
    """
    url = database_url()
    if url is not None:
        return PostgresCostTracker(url, pricing=pricing)
    return SQLiteCostTracker(path, pricing=pricing)


class PostgresCostTracker:
    """A `CostTracker` in PostgreSQL's ``calls`` table, shared by processes.

    Args:
        database: A ``postgresql://`` URL or a `PostgresDatabase` (its pool is shared).
        pricing: Price table for models that are not priced explicitly.

    Raises:
        MissingDependencyError: The ``postgres`` extra is missing.
    """

    def __init__(
        self, database: str | PostgresDatabase, *, pricing: PricingTable | None = None
    ) -> None:
        self.db = database if isinstance(database, PostgresDatabase) else PostgresDatabase(database)
        self.pricing = pricing or default_pricing()
        self._pending: list[tuple[Any, ...]] = []  # calls not written yet (database down)

    def __repr__(self) -> str:
        return "PostgresCostTracker(<url hidden>)"

    async def close(self) -> None:
        """Write the calls kept during an outage (if the database is back), then close."""
        try:
            await self._flush()
        except StoreUnavailable:
            logger.warning("costs: %d call(s) not written at close", len(self._pending))
        await self.db.close()

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

        A database that is unavailable does not lose the call: it is kept and written
        with the next one (the response it belongs to was paid for and is answered).
        """
        self._pending.append(_row(record))
        try:
            await self._flush()
        except StoreUnavailable:
            logger.warning("costs: database unavailable; %d call(s) kept", len(self._pending))

    async def records(self, **where: str | None) -> list[CallRecord]:
        """Recorded calls matching every ``label=value`` in `where`, oldest first."""
        clause, args = _where(where)
        await self._flush()
        rows = await self.db.fetchall(
            "SELECT at, model, priced_as, tier, agent, route, conversation_id, query,"
            " input_tokens, output_tokens, cached_input_tokens, cost, estimated"
            f" FROM calls {clause} ORDER BY id",
            args,
        )
        return [_call(row) for row in rows]

    async def by(self, dimension: Dimension | None, **where: str | None) -> dict[str, Decimal]:
        """Cost per value of `dimension` (agent, route, conversation_id, day, model, tier)."""
        if dimension is not None and dimension not in _COLUMNS:
            raise ValueError(f"cannot group calls by {dimension!r}")
        clause, args = _where(where)
        key: LiteralString = "''"
        if dimension is not None:
            key = f"COALESCE({_COLUMNS[dimension]}::text, '-')"
        await self._flush()
        rows = await self.db.fetchall(
            f"SELECT {key}, SUM(cost) FROM calls {clause} GROUP BY 1", args
        )
        return {str(group): Decimal(total) for group, total in rows}

    async def total(self, **where: str | None) -> Decimal:
        """Total cost of the calls matching `where`."""
        return sum((await self.by(None, **where)).values(), Decimal(0))

    async def spent_today(self, today: date | None = None) -> Decimal:
        """Cost of today's calls (UTC)."""
        return await self.total(day=(today or datetime.now(UTC).date()).isoformat())

    async def spent_on_conversation(self, conversation_id: str) -> Decimal:
        """Cost of one conversation's calls."""
        return await self.total(conversation_id=conversation_id)

    async def _flush(self) -> None:
        """Write the kept calls in one transaction (they are kept again if it fails).

        The rows are taken before the first await, so two concurrent flushes never
        write one call twice.
        """
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        try:
            async with self.db.transaction() as connection, connection.cursor() as cursor:
                await cursor.executemany(_INSERT, rows)
        except (StoreUnavailable, asyncio.CancelledError):
            self._pending[:0] = rows  # an outage (or a cancel): written with the next call
            raise
        except Exception:  # a row the database refuses would block every later one
            logger.exception("costs: %d call(s) refused by the database, dropped", len(rows))


def _row(record: CallRecord) -> tuple[Any, ...]:
    return (
        record.at,
        record.at.astimezone(UTC).date() if record.at.tzinfo else record.at.date(),
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
        record.cost,
        record.estimated,
    )


def _where(where: Mapping[str, str | None]) -> tuple[LiteralString, list[Any]]:
    """``WHERE`` matching every label (``None`` matches a missing label, as in SQLite).

    ``col = %s`` (not ``IS NOT DISTINCT FROM``) so that the indexes on ``day`` and
    ``conversation_id`` serve the budgets' questions.
    """
    unknown = set(where) - set(_COLUMNS)
    if unknown:
        raise ValueError(f"cannot filter calls by {sorted(unknown)}")
    parts: list[LiteralString] = []
    args: list[Any] = []
    for name, value in where.items():
        column = _COLUMNS[name]
        if value is None:
            parts.append(f"{column} IS NULL")
        elif name == "day":
            try:
                args.append(date.fromisoformat(value))
            except ValueError:  # no call was made on a day that is not one
                parts.append("FALSE")
            else:
                parts.append("day = %s")
        else:
            parts.append(f"{column} = %s")
            args.append(value)
    return ("WHERE " + " AND ".join(parts) if parts else ""), args


def _call(row: tuple[Any, ...]) -> CallRecord:
    return call_from_row(row, decode_time=_as_utc)


def _as_utc(at: datetime) -> datetime:
    return at.astimezone(UTC)  # PostgreSQL answers in the session's time zone
