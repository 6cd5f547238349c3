"""`SQLiteAuditLog`: the audit trail in a SQLite file (the conversations' database)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from pyagent_providers.sqlite import SQLiteFile

from .audit import AuditEvent, AuditQuery, Condition

__all__ = ["SQLiteAuditLog"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL,
    conversation_id TEXT,
    message_id TEXT,
    actor TEXT,
    confidence REAL,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_conversation ON audit_events (conversation_id, seq);
CREATE INDEX IF NOT EXISTS audit_at ON audit_events (at);
"""
_COLUMNS = "seq, at, kind, conversation_id, message_id, actor, confidence, data"


class SQLiteAuditLog:
    """Audit events in a SQLite file, appended in ``BEGIN IMMEDIATE`` transactions.

    Args:
        path: The database file (the chat handler uses its conversations' file).
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.db = SQLiteFile(self.path, schema=_SCHEMA, busy_timeout=30)

    def __repr__(self) -> str:
        return f"SQLiteAuditLog({str(self.path)!r})"

    async def record(self, *events: AuditEvent) -> None:
        """Append `events`."""
        rows = [
            (
                e.at.isoformat(),
                e.kind,
                e.conversation_id,
                e.message_id,
                e.actor,
                e.confidence,
                json.dumps(dict(e.data), default=str),
            )
            for e in events
        ]

        def insert(db: sqlite3.Connection) -> None:  # no cursor may leave the lock
            db.executemany(
                "INSERT INTO audit_events (at, kind, conversation_id, message_id, actor,"
                " confidence, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
                rows,
            )

        if rows:
            await self.db.write(insert)

    async def query(self, query: AuditQuery) -> list[AuditEvent]:
        """The events `query` selects, oldest first."""
        clauses, args = _where(query)
        sql = f"SELECT {_COLUMNS} FROM audit_events"
        if clauses:
            sql += " WHERE " + " AND ".join(clauses)
        sql += " ORDER BY seq LIMIT ?"
        rows = await self.db.read(lambda db: db.execute(sql, (*args, query.limit)).fetchall())
        return [_event(row) for row in rows]


def _where(query: AuditQuery) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    args: list[Any] = []
    if query.conversation_id is not None:
        clauses.append("conversation_id = ?")
        args.append(query.conversation_id)
    if query.since is not None:
        clauses.append("at >= ?")
        args.append(query.since.isoformat())
    if query.kinds:
        clauses.append(f"kind IN ({', '.join('?' * len(query.kinds))})")
        args.extend(query.kinds)
    for condition in query.where:
        clauses.append(f"{_operand(condition)} {condition.op} ?")
        args.append(condition.value)
    return clauses, args


def _operand(condition: Condition) -> str:
    # Field names are checked by `parse_condition` (letters, digits, '_' and '.'); values
    # are always bound parameters.
    if condition.is_column:
        return condition.field
    return f"json_extract(data, '$.{condition.field}')"


def _event(row: tuple[Any, ...]) -> AuditEvent:
    seq, at, kind, conversation_id, message_id, actor, confidence, data = row
    return AuditEvent(
        seq=seq,
        at=datetime.fromisoformat(at),
        kind=kind,
        conversation_id=conversation_id,
        message_id=message_id,
        actor=actor,
        confidence=confidence,
        data=json.loads(data),
    )
