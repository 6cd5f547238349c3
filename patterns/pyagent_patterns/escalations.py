"""The durable queue of cases waiting for a person (`EscalationQueue`, SQLite by default).

Each escalation keeps an id, a priority, the hand-off summary, the reason, the redacted
conversation, its status and the person who claimed it. The case is the one record of a
hand-off: a chat conversation points at its case (`Conversation.ticket_id`) and reads its
state from it (open: waiting for a person; claimed: with that person; resolved: back with
the bot), so the queue and the conversation never disagree.

The SQLite queue lives in a file (`SQLiteFile`: WAL, ``BEGIN IMMEDIATE`` writes,
statements off the event loop), so it survives restarts and several processes can share
it; a `SQLiteConversationStore` keeps its queue in its own file (``store.escalations``).

The default file is ``$PYAGENT_DATA_DIR/escalations.sqlite3`` (``~/.pyagent`` when the
variable is unset).
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pyagent_providers import Message, UserError
from pyagent_providers.sqlite import SQLiteFile

__all__ = [
    "Escalation",
    "EscalationQueue",
    "Priority",
    "SQLiteEscalationQueue",
    "Status",
    "default_data_dir",
    "escalation_from_row",
]

Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "claimed", "resolved"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS escalations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT UNIQUE NOT NULL,
    created_at TEXT NOT NULL,
    priority TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    reason TEXT NOT NULL,
    summary TEXT NOT NULL,
    conversation TEXT NOT NULL,
    conversation_id TEXT,
    agent TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    key TEXT
);
CREATE INDEX IF NOT EXISTS escalations_status ON escalations (status, priority);
"""
# Columns added since the first release, for files created before them (numbered
# migrations arrive with the PostgreSQL backend).
_ADDED_COLUMNS = {"agent": "TEXT", "key": "TEXT"}
_KEY_INDEX = (
    "CREATE UNIQUE INDEX IF NOT EXISTS escalations_key ON escalations (key) WHERE key IS NOT NULL"
)


def default_data_dir() -> Path:
    """Where pyagent keeps its files: ``$PYAGENT_DATA_DIR`` or ``~/.pyagent``."""
    return Path(os.environ.get("PYAGENT_DATA_DIR") or Path.home() / ".pyagent")


@dataclass(frozen=True, kw_only=True, slots=True)
class Escalation:
    """One case for a person: waiting (``open``), taken (``claimed`` by `agent`) or done."""

    id: str
    created_at: datetime
    priority: Priority
    status: Status
    reason: str
    summary: str
    conversation: tuple[Message, ...]
    conversation_id: str | None = None
    agent: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict[str, Any])


class EscalationQueue(Protocol):
    """Where cases wait for a person; `SQLiteEscalationQueue` is the embedded default."""

    async def put(
        self,
        *,
        summary: str,
        reason: str,
        conversation: Sequence[Message],
        priority: Priority = "normal",
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Escalation:
        """Queue a case and return it as stored (with its new id).

        A `key` makes it idempotent: a case with that key already queued is returned
        instead of a second one (a retried or redelivered turn opens one case).
        """
        ...

    async def get(self, escalation_id: str) -> Escalation | None:
        """The case with this id, or ``None``."""
        ...

    async def list(self, status: Status | None = "open") -> list[Escalation]:
        """Cases with `status` (all when ``None``), most urgent first, then oldest."""
        ...

    async def set_status(
        self, escalation_id: str, status: Status, *, agent: str | None = None
    ) -> Escalation:
        """Move a case to `status`; `agent` names who claimed it (``claimed`` only)."""
        ...

    async def claim_next(self, agent: str) -> Escalation | None:
        """`agent` claims the most urgent open case (oldest first); ``None`` if none waits.

        People (or workers) asking at once each get a different case.
        """
        ...


class SQLiteEscalationQueue:
    """The escalation queue in a SQLite file, shared safely by threads and processes.

    Args:
        path: The SQLite file (created with its folder); defaults under `default_data_dir`.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_data_dir() / "escalations.sqlite3"
        self.db = SQLiteFile(self.path, schema=_SCHEMA)
        self.db.write_sync(_upgrade)

    def __repr__(self) -> str:
        return f"SQLiteEscalationQueue({str(self.path)!r})"

    async def put(
        self,
        *,
        summary: str,
        reason: str,
        conversation: Sequence[Message],
        priority: Priority = "normal",
        conversation_id: str | None = None,
        metadata: dict[str, Any] | None = None,
        key: str | None = None,
    ) -> Escalation:
        """Queue a case and return it as stored (the one queued under `key`, if any)."""
        created = datetime.now(UTC)
        turns = [
            {"role": m.role, "content": m.content, "tool_call_id": m.tool_call_id}
            for m in conversation
        ]

        def insert(db: sqlite3.Connection) -> Escalation:
            if key is not None:
                found = db.execute("SELECT id FROM escalations WHERE key = ?", (key,)).fetchone()
                if found is not None:
                    return _must_get(db, found[0])
            cursor = db.execute(
                "INSERT INTO escalations (id, created_at, priority, reason, summary,"
                " conversation, conversation_id, metadata, key)"
                " VALUES ('', ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    created.isoformat(),
                    priority,
                    reason,
                    summary,
                    json.dumps(turns),
                    conversation_id,
                    json.dumps(metadata or {}, default=str),
                    key,
                ),
            )
            ticket = f"ESC-{cursor.lastrowid:06d}"
            db.execute("UPDATE escalations SET id = ? WHERE seq = ?", (ticket, cursor.lastrowid))
            return _must_get(db, ticket)

        return await self.db.write(insert)

    async def get(self, escalation_id: str) -> Escalation | None:
        """The escalation with this id, or ``None``."""
        return await self.db.read(lambda db: _get(db, escalation_id))

    async def list(self, status: Status | None = "open") -> list[Escalation]:
        """Escalations with `status` (all when ``None``), most urgent first, then oldest."""
        order = (
            "CASE priority WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END"
        )
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self.db.read(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM escalations {where} ORDER BY {order}, seq", args
            ).fetchall()
        )
        return [_escalation(row) for row in rows]

    async def set_status(
        self, escalation_id: str, status: Status, *, agent: str | None = None
    ) -> Escalation:
        """Move a case to `status`; `agent` names who claimed it (``claimed`` only)."""
        taker = agent if status == "claimed" else None

        def change(db: sqlite3.Connection) -> Escalation:
            db.execute(
                "UPDATE escalations SET status = ?, agent = ? WHERE id = ?",
                (status, taker, escalation_id),
            )
            return _must_get(db, escalation_id)

        return await self.db.write(change)

    async def claim_next(self, agent: str) -> Escalation | None:
        """`agent` claims the most urgent open case (oldest first); ``None`` if none waits.

        The choice and the claim are one ``BEGIN IMMEDIATE`` transaction, so processes
        asking at once each get a different case.
        """

        def claim(db: sqlite3.Connection) -> Escalation | None:
            row = db.execute(
                "SELECT id FROM escalations WHERE status = 'open' ORDER BY CASE priority"
                " WHEN 'urgent' THEN 0 WHEN 'high' THEN 1 WHEN 'normal' THEN 2 ELSE 3 END, seq"
                " LIMIT 1"
            ).fetchone()
            if row is None:
                return None
            db.execute(
                "UPDATE escalations SET status = 'claimed', agent = ? WHERE id = ?",
                (agent, row[0]),
            )
            return _must_get(db, row[0])

        return await self.db.write(claim)


def _upgrade(db: sqlite3.Connection) -> None:
    present = {row[1] for row in db.execute("PRAGMA table_info(escalations)")}
    for column, kind in _ADDED_COLUMNS.items():
        if column not in present:
            db.execute(f"ALTER TABLE escalations ADD COLUMN {column} {kind}")
    db.execute(_KEY_INDEX)


_COLUMNS = (
    "id, created_at, priority, status, reason, summary, conversation, conversation_id, agent,"
    " metadata"
)


def _get(db: sqlite3.Connection, escalation_id: str) -> Escalation | None:
    row = db.execute(f"SELECT {_COLUMNS} FROM escalations WHERE id = ?", (escalation_id,))
    found = row.fetchone()
    return _escalation(found) if found else None


def _must_get(db: sqlite3.Connection, escalation_id: str) -> Escalation:
    found = _get(db, escalation_id)
    if found is None:
        raise UserError(f"no escalation {escalation_id!r}")
    return found


def _escalation(row: tuple[Any, ...]) -> Escalation:
    return escalation_from_row(row, decode_json=json.loads, decode_time=datetime.fromisoformat)


def escalation_from_row(
    row: Sequence[Any], *, decode_json: Callable[[Any], Any], decode_time: Callable[[Any], Any]
) -> Escalation:
    """An escalations row (id ... metadata, as the queues select it) as an `Escalation`.

    Each backend says how its JSON and timestamps come back.
    """
    ident, created, priority, status, reason, summary, turns, conversation_id, agent, metadata = row
    return Escalation(
        id=ident,
        created_at=decode_time(created),
        priority=priority,
        status=status,
        reason=reason,
        summary=summary,
        conversation=tuple(
            Message(t["role"], t["content"], tool_call_id=t.get("tool_call_id"))
            for t in decode_json(turns)
        ),
        conversation_id=conversation_id,
        agent=agent,
        metadata=decode_json(metadata),
    )
