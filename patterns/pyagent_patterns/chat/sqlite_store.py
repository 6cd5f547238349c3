"""`SQLiteConversationStore`: the embedded default `ConversationStore`.

Several processes may share one file (two ``pyagent serve`` behind a proxy, the server and
``pyagent queue``): writes are ``BEGIN IMMEDIATE`` transactions (`SQLiteFile`), so a
message number is never taken twice, and one conversation's turns are serialised across
processes by a file lock (the `filelock` library) striped over `LOCK_STRIPES` files in
``<db>.locks/``. Stripes bound the number of lock files; two conversations that share a
stripe only wait for each other.

The conversation's hand-off lives in one place, the case in the same file's escalation
queue (``store.escalations``, a `SQLiteEscalationQueue`): a conversation keeps only the
case's id, and its ``state`` and ``agent`` are read from the case (the
``conversation_states`` view).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import secrets
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from filelock import AsyncFileLock

from pyagent_providers import ConflictError, NotFoundError, StoreUnavailable
from pyagent_providers.sqlite import SQLiteFile

from ..actions import SQLiteActionLedger, SQLiteAuditLog
from ..escalations import SQLiteEscalationQueue
from .store import (
    CONVERSATION_COLUMNS,
    MESSAGE_COLUMNS,
    UPDATABLE,
    Author,
    Conversation,
    ConversationState,
    StoredMessage,
    conversation_from_row,
    default_store_path,
    message_from_row,
)

__all__ = ["LOCK_STRIPES", "SQLiteConversationStore"]

LOCK_STRIPES = 1024

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    tier TEXT,
    ticket_id TEXT,
    summary TEXT,
    summary_upto INTEGER NOT NULL DEFAULT 0,
    placeholders TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_ticket ON conversations (ticket_id);
-- A conversation's state is its case's: open -> waiting, claimed -> with that person.
CREATE VIEW IF NOT EXISTS conversation_states AS
SELECT c.id, c.user_id,
    CASE e.status WHEN 'open' THEN 'waiting_for_human' WHEN 'claimed' THEN 'with_human'
        ELSE 'bot' END AS state,
    c.tier, c.ticket_id, CASE e.status WHEN 'claimed' THEN e.agent END AS agent,
    c.summary, c.summary_upto, c.placeholders, c.created_at, c.updated_at
FROM conversations AS c LEFT JOIN escalations AS e ON e.id = c.ticket_id;
CREATE TABLE IF NOT EXISTS messages (
    conversation_id TEXT NOT NULL REFERENCES conversations (id),
    seq INTEGER NOT NULL,
    author TEXT NOT NULL,
    name TEXT,
    content TEXT NOT NULL,
    message_id TEXT,
    in_reply_to TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    PRIMARY KEY (conversation_id, seq)
);
CREATE UNIQUE INDEX IF NOT EXISTS messages_id ON messages (conversation_id, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_reply ON messages (conversation_id, in_reply_to);
"""
_COLUMNS = CONVERSATION_COLUMNS


class SQLiteConversationStore:
    """Conversations in a SQLite file, shared safely by threads and processes.

    Args:
        path: The database file; `default_store_path()` when ``None``.

    Attributes:
        escalations: The conversations' cases, in the same file; give it to the support
            system (``HumanInTheLoop(queue=...)``) so its cases are the conversations'.
        actions: The side-effecting tool calls (`SQLiteActionLedger`), in the same file.
        audit: The audit trail (`SQLiteAuditLog`), in the same file.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.escalations = SQLiteEscalationQueue(self.path)  # creates the cases' table
        self.actions = SQLiteActionLedger(self.path)
        self.audit = SQLiteAuditLog(self.path)
        self.db = SQLiteFile(self.path, schema=_SCHEMA, busy_timeout=30)
        self._locks = self.path.with_name(self.path.name + ".locks")
        self._locks.mkdir(exist_ok=True)

    def __repr__(self) -> str:
        return f"SQLiteConversationStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the database."""
        for db in (self.db, self.escalations.db, self.actions.db, self.audit.db):
            db.close()

    def turn_lock(self, conversation_id: str) -> AbstractAsyncContextManager[object]:
        """A lock across processes for one conversation's turn (waits off the event loop)."""
        digest = hashlib.sha256(conversation_id.encode()).digest()
        stripe = int.from_bytes(digest[:4], "big") % LOCK_STRIPES
        return AsyncFileLock(self._locks / f"{stripe:04d}.lock", is_singleton=False)

    async def ping(self) -> None:
        """Read the file for real, as a new reader would (readiness checks).

        A new read-only connection, in a worker thread, reads a row of the
        conversations (with their cases) and of the messages: a file that is gone,
        unreadable or not a database fails here, while this store's own connection may
        still answer from its cache.

        Raises:
            StoreUnavailable: The file cannot be read as the conversations' database.
        """
        await asyncio.to_thread(self._ping)

    def _ping(self) -> None:
        try:
            db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=5)
            try:
                db.execute("SELECT id, state FROM conversation_states LIMIT 1").fetchall()
                db.execute("SELECT seq FROM messages LIMIT 1").fetchall()
            finally:
                db.close()
        except sqlite3.Error as exc:  # the message names the condition, never a row
            raise StoreUnavailable(
                f"the conversations' database cannot be read ({type(exc).__name__}: {exc})"
            ) from exc

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with its messages, or ``None``."""
        return await self.db.read(lambda db: _get(db, conversation_id))

    async def create(self, conversation_id: str, *, user_id: str | None) -> Conversation:
        """A new, empty conversation (raises `ConflictError` if the id exists)."""
        now = datetime.now(UTC).isoformat()

        def insert(db: sqlite3.Connection) -> Conversation:
            db.execute(
                "INSERT INTO conversations (id, user_id, created_at, updated_at)"
                " VALUES (?, ?, ?, ?)",
                (conversation_id, user_id, now, now),
            )
            return _must_get(db, conversation_id)

        try:
            return await self.db.write(insert)
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"conversation {conversation_id!r} already exists") from exc

    async def append(
        self,
        conversation_id: str,
        *,
        author: Author,
        content: str,
        name: str | None = None,
        message_id: str | None = None,
        in_reply_to: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StoredMessage:
        """Add a message (raises `ConflictError` if `message_id` is already stored).

        The next number is read inside the write transaction, so two processes appending
        at once get consecutive numbers, never the same one.
        """
        now = datetime.now(UTC)
        data = dict(metadata or {})

        def insert(db: sqlite3.Connection) -> int:
            (seq,) = db.execute(
                "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                (conversation_id,),
            ).fetchone()
            db.execute(
                "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conversation_id,
                    seq,
                    author,
                    name,
                    content,
                    message_id,
                    in_reply_to,
                    json.dumps(data, default=str),
                    now.isoformat(),
                ),
            )
            db.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?",
                (now.isoformat(), conversation_id),
            )
            return int(seq)

        try:
            seq = await self.db.write(insert)
        except sqlite3.IntegrityError as exc:  # under BEGIN IMMEDIATE only the id can clash
            raise ConflictError(f"message {message_id!r} is already stored") from exc
        return StoredMessage(
            seq=seq,
            author=author,
            content=content,
            name=name,
            message_id=message_id,
            in_reply_to=in_reply_to,
            metadata=data,
            created_at=now,
        )

    async def update(self, conversation_id: str, **fields: Any) -> Conversation:
        """Change state fields (the placeholder map is merged); the updated conversation."""
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "placeholders" in fields:
            fields["placeholders"] = json.dumps(dict(fields["placeholders"]))
        fields["updated_at"] = datetime.now(UTC).isoformat()
        # placeholders are merged, never replaced (as in PostgreSQL): one another process
        # added since this one read the map stays
        assignments = ", ".join(
            "placeholders = json_patch(placeholders, ?)"
            if name == "placeholders"
            else f"{name} = ?"
            for name in fields
        )

        def change(db: sqlite3.Connection) -> Conversation:
            db.execute(
                f"UPDATE conversations SET {assignments} WHERE id = ?",
                (*fields.values(), conversation_id),
            )
            return _must_get(db, conversation_id)

        return await self.db.write(change)

    async def in_states(self, states: Iterable[ConversationState]) -> list[Conversation]:
        """Conversations in any of `states`, oldest update first, without messages."""
        wanted: Sequence[str] = tuple(states)
        marks = ", ".join("?" for _ in wanted)
        rows = await self.db.read(
            lambda db: db.execute(
                f"SELECT {_COLUMNS} FROM conversation_states WHERE state IN ({marks})"
                " ORDER BY updated_at",
                wanted,
            ).fetchall()
        )
        return [_conversation(row) for row in rows]

    def secret(self) -> bytes:
        """The store's placeholder salt, kept in a file beside the database (mode 0600).

        Kept out of the database on purpose: a copy of the database alone does not let
        anyone test guesses (phone numbers, emails) against the stored digests.
        """
        key_file = self.path.with_name(self.path.name + ".key")
        if not key_file.exists():
            # Written whole under a temporary name, then linked into place: another process
            # sees either no key or the whole key, never an empty file.
            staged = key_file.with_name(f"{key_file.name}.{os.getpid()}.tmp")
            descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_bytes(32).hex())
            try:
                os.link(staged, key_file)
            except FileExistsError:  # another process linked its key first: use that one
                pass
            finally:
                staged.unlink()
        key = bytes.fromhex(key_file.read_text().strip())
        if len(key) != 32:
            raise ValueError(f"{key_file} does not hold a 32-byte key")
        return key


def _get(db: sqlite3.Connection, conversation_id: str) -> Conversation | None:
    row = db.execute(
        f"SELECT {_COLUMNS} FROM conversation_states WHERE id = ?", (conversation_id,)
    ).fetchone()
    if row is None:
        return None
    messages = db.execute(
        f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE conversation_id = ? ORDER BY seq",
        (conversation_id,),
    ).fetchall()
    return replace(_conversation(row), messages=tuple(_message(m) for m in messages))


def _must_get(db: sqlite3.Connection, conversation_id: str) -> Conversation:
    conversation = _get(db, conversation_id)
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id!r}")
    return conversation


def _conversation(row: Sequence[Any]) -> Conversation:
    return conversation_from_row(row, decode_json=json.loads, decode_time=datetime.fromisoformat)


def _message(row: Sequence[Any]) -> StoredMessage:
    return message_from_row(row, decode_json=json.loads, decode_time=datetime.fromisoformat)
