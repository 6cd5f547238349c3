"""`PostgresActionLedger`: side-effecting calls by idempotency key, shared by every worker.

`begin` decides in one transaction: a new key is inserted (``ON CONFLICT DO NOTHING``:
of two workers inserting one key, one wins and the other finds the winner's row), a
known one is read ``FOR UPDATE`` and changed by the same `begin_transition` as every
backend. So two workers beginning one key never both run it, and a call whose worker's
lease ran out is taken over by exactly one.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from pyagent_providers import NotFoundError
from pyagent_providers.postgres import PostgresDatabase

from ..actions.ledger import (
    LEASE_SECONDS,
    ActionRecord,
    StoredTransitions,
    begin_transition,
    record_from_json,
    record_to_json,
)
from .common import as_database, dumps

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.rows import TupleRow

__all__ = ["PostgresActionLedger"]


class PostgresActionLedger(StoredTransitions):
    """The ledger in PostgreSQL (table ``actions``).

    Args:
        url_or_db: A ``postgresql://`` URL, or the `PostgresDatabase` to share.
    """

    def __init__(self, url_or_db: str | PostgresDatabase) -> None:
        self.db = as_database(url_or_db)

    def __repr__(self) -> str:
        return "PostgresActionLedger(<database>)"

    async def begin(
        self, record: ActionRecord, *, lease_seconds: float = LEASE_SECONDS
    ) -> tuple[ActionRecord, bool]:
        """See `ActionLedger.begin`."""
        now = time.time()
        fresh, _ = begin_transition(None, record, now=now, lease_seconds=lease_seconds)
        async with self.db.transaction() as connection:
            cursor = await connection.execute(
                "INSERT INTO actions (key, conversation_id, status, record)"
                " VALUES (%s, %s, %s, %s::jsonb) ON CONFLICT (key) DO NOTHING RETURNING key",
                (fresh.key, fresh.conversation_id, fresh.status, dumps(record_to_json(fresh))),
            )
            if await cursor.fetchone() is not None:
                return fresh, True
            existing = await _locked(connection, record.key)
            stored, run = begin_transition(existing, record, now=now, lease_seconds=lease_seconds)
            if stored != existing:
                await _write(connection, stored)
            return stored, run

    async def get(self, key: str) -> ActionRecord | None:
        """See `ActionLedger.get`."""
        row = await self.db.fetchone("SELECT record FROM actions WHERE key = %s", (key,))
        return None if row is None else record_from_json(row[0])

    async def _change(self, key: str, how: Callable[[ActionRecord], ActionRecord]) -> ActionRecord:
        async with self.db.transaction() as connection:
            record = await _locked(connection, key)
            if record is None:
                raise NotFoundError(f"no recorded call {key!r}")
            updated = how(record)
            await _write(connection, updated)
            return updated


async def _locked(connection: AsyncConnection[TupleRow], key: str) -> ActionRecord | None:
    """The record of `key`, its row locked until the transaction ends."""
    cursor = await connection.execute(
        "SELECT record FROM actions WHERE key = %s FOR UPDATE", (key,)
    )
    row = await cursor.fetchone()
    return None if row is None else record_from_json(row[0])


async def _write(connection: AsyncConnection[TupleRow], record: ActionRecord) -> None:
    await connection.execute(
        "UPDATE actions SET status = %s, record = %s::jsonb, updated_at = now() WHERE key = %s",
        (record.status, dumps(record_to_json(record)), record.key),
    )
