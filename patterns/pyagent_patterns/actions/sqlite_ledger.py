"""`SQLiteActionLedger`: the action ledger in a SQLite file (the conversations' database)."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from pyagent_providers import NotFoundError
from pyagent_providers.sqlite import SQLiteFile

from .ledger import (
    LEASE_SECONDS,
    ActionRecord,
    StoredTransitions,
    begin_transition,
    record_from_json,
    record_to_json,
)

__all__ = ["SQLiteActionLedger"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS actions (
    key TEXT PRIMARY KEY,
    conversation_id TEXT,
    status TEXT NOT NULL,
    record TEXT NOT NULL,
    updated_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS actions_conversation ON actions (conversation_id);
"""


class SQLiteActionLedger(StoredTransitions):
    """The ledger in a SQLite file, shared by processes.

    Every change is one ``BEGIN IMMEDIATE`` transaction, so two processes that begin the
    same key never both run it.

    Args:
        path: The database file (the chat handler uses its conversations' file).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = SQLiteFile(self.path, schema=_SCHEMA, busy_timeout=30)

    def __repr__(self) -> str:
        return f"SQLiteActionLedger({str(self.path)!r})"

    async def begin(
        self, record: ActionRecord, *, lease_seconds: float = LEASE_SECONDS
    ) -> tuple[ActionRecord, bool]:
        """See `ActionLedger.begin`."""

        def change(db: sqlite3.Connection) -> tuple[ActionRecord, bool]:
            stored, run = begin_transition(
                _read(db, record.key), record, now=time.time(), lease_seconds=lease_seconds
            )
            _write(db, stored)
            return stored, run

        return await self.db.write(change)

    async def get(self, key: str) -> ActionRecord | None:
        """See `ActionLedger.get`."""
        return await self.db.read(lambda db: _read(db, key))

    async def _change(self, key: str, how: Callable[[ActionRecord], ActionRecord]) -> ActionRecord:
        def change(db: sqlite3.Connection) -> ActionRecord:
            record = _read(db, key)
            if record is None:
                raise NotFoundError(f"no recorded call {key!r}")
            updated = how(record)
            _write(db, updated)
            return updated

        return await self.db.write(change)


def _read(db: sqlite3.Connection, key: str) -> ActionRecord | None:
    row = db.execute("SELECT record FROM actions WHERE key = ?", (key,)).fetchone()
    if row is None:
        return None
    return record_from_json(json.loads(row[0]))


def _write(db: sqlite3.Connection, record: ActionRecord) -> None:
    data = record_to_json(record)
    db.execute(
        "INSERT INTO actions (key, conversation_id, status, record, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (key) DO UPDATE SET status = excluded.status,"
        " record = excluded.record, updated_at = excluded.updated_at",
        (
            record.key,
            record.conversation_id,
            record.status,
            json.dumps(data, default=str),
            time.time(),
        ),
    )
