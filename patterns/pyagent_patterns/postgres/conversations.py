"""`PostgresConversationStore`: conversations in PostgreSQL, for several processes at once.

The PostgreSQL counterpart of `SQLiteConversationStore`, with the same behaviour and
errors, for ``serve --workers N`` and workers on other machines sharing one database:

* `append` numbers a message inside a transaction that holds the conversation's row
  ``FOR UPDATE``, so two processes appending at once get consecutive numbers; a
  ``message_id`` stored twice is refused by the unique index (`ConflictError`).
* `update` merges the placeholder map (``placeholders || new``): a placeholder another
  process added is never overwritten by a map read before it was.
* `turn_lock` is a session-level advisory lock (`TurnLocks`): held for the whole turn,
  released when the turn ends, and by PostgreSQL itself when the process dies.
* The cases, the action ledger and the audit trail (``.escalations``, ``.actions``,
  ``.audit``) use the same `PostgresDatabase` pool.
"""

from __future__ import annotations

import logging
import os
import secrets
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, LiteralString

import psycopg
from psycopg import errors

from pyagent_providers import ConfigurationError, ConflictError, NotFoundError, StoreUnavailable
from pyagent_providers.postgres import PostgresDatabase

from ..chat.store import (
    CONVERSATION_COLUMNS,
    MESSAGE_COLUMNS,
    UPDATABLE,
    Author,
    Conversation,
    ConversationState,
    StoredMessage,
    conversation_from_row,
    message_from_row,
)
from .audit import PostgresAuditLog
from .common import as_database, dumps, utc
from .escalations import PostgresEscalationQueue
from .ledger import PostgresActionLedger
from .locks import TurnLocks

if TYPE_CHECKING:
    from psycopg.rows import TupleRow

    Connection = psycopg.AsyncConnection[TupleRow]

__all__ = ["SECRET_ENV", "PostgresConversationStore"]

logger = logging.getLogger("pyagent.store")
SECRET_ENV = "PYAGENT_STORE_SECRET"
_COLUMNS = CONVERSATION_COLUMNS
_MESSAGE_COLUMNS = MESSAGE_COLUMNS
# the fields `update` may set, as SQL (never the caller's names)
_ASSIGNMENTS: dict[str, LiteralString] = {
    "tier": "tier = %s",
    "ticket_id": "ticket_id = %s",
    "summary": "summary = %s",
    "summary_upto": "summary_upto = %s",
    "placeholders": "placeholders = placeholders || %s::jsonb",
}
assert set(_ASSIGNMENTS) == UPDATABLE


class PostgresConversationStore:
    """Conversations in PostgreSQL, shared safely by processes and machines.

    Args:
        url_or_db: A ``postgresql://`` URL, or the `PostgresDatabase` to share (its pool
            serves the conversations, the cases, the ledger and the audit trail).

    Attributes:
        db: The database.
        escalations: The conversations' cases (`PostgresEscalationQueue`); give it to the
            support system (``HumanInTheLoop(queue=...)``) so its cases are the
            conversations'.
        actions: The side-effecting tool calls (`PostgresActionLedger`).
        audit: The audit trail (`PostgresAuditLog`).
        locks: The turn locks (`TurnLocks`), on a connection of their own.

    Raises:
        StoreUnavailable: The database cannot be reached (the secret is read at once).
        ConfigurationError: ``$PYAGENT_STORE_SECRET`` is not 32 bytes in hex.
    """

    def __init__(self, url_or_db: str | PostgresDatabase) -> None:
        self.db = as_database(url_or_db)
        self.escalations = PostgresEscalationQueue(self.db)
        self.actions = PostgresActionLedger(self.db)
        self.audit = PostgresAuditLog(self.db)
        self.locks = TurnLocks(self.db.url)
        self._secret = _read_secret(self.db.url)

    def __repr__(self) -> str:
        return "PostgresConversationStore(<url hidden>)"  # the URL may carry a password

    async def close(self) -> None:
        """Close the turn locks' connection and the database's pool."""
        await self.locks.close()
        await self.db.close()

    async def ping(self) -> None:
        """Read the conversations' tables for real (readiness checks).

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        await self.db.fetchone("SELECT id FROM conversation_states LIMIT 1")
        await self.db.fetchone("SELECT seq FROM messages LIMIT 1")

    def turn_lock(self, conversation_id: str) -> AbstractAsyncContextManager[object]:
        """A lock across processes for one conversation's turn (see `TurnLocks`).

        Waiting holds no connection and never blocks the event loop; the lock is freed
        when the block ends, or when this process's connection ends (a crash, ``kill
        -9``): that is when another worker may take the conversation's message over.
        """
        return self.locks.hold(conversation_id)

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with its messages, or ``None``."""
        async with self.db.session() as connection:
            return await _get(connection, conversation_id)

    async def create(self, conversation_id: str, *, user_id: str | None) -> Conversation:
        """A new, empty conversation (raises `ConflictError` if the id exists)."""
        now = datetime.now(UTC)
        try:
            async with self.db.transaction() as connection:
                await connection.execute(
                    "INSERT INTO conversations (id, user_id, created_at, updated_at)"
                    " VALUES (%s, %s, %s, %s)",
                    (conversation_id, user_id, now, now),
                )
                return await _must_get(connection, conversation_id)
        except errors.UniqueViolation as exc:
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

        The conversation's row is locked (``FOR UPDATE``) before the next number is
        read, so two processes appending at once get consecutive numbers.

        Raises:
            NotFoundError: There is no such conversation.
            ConflictError: `message_id` is already stored in it.
        """
        now = datetime.now(UTC)
        data = dict(metadata or {})
        try:
            async with self.db.transaction() as connection:
                cursor = await connection.execute(
                    "SELECT id FROM conversations WHERE id = %s FOR UPDATE", (conversation_id,)
                )
                if await cursor.fetchone() is None:
                    raise NotFoundError(f"no conversation {conversation_id!r}")
                cursor = await connection.execute(
                    "INSERT INTO messages (conversation_id, seq, author, name, content,"
                    " message_id, in_reply_to, metadata, created_at)"
                    " SELECT %s, COALESCE(MAX(seq), 0) + 1, %s, %s, %s, %s, %s, %s::jsonb, %s"
                    " FROM messages WHERE conversation_id = %s RETURNING seq",
                    (
                        conversation_id,
                        author,
                        name,
                        content,
                        message_id,
                        in_reply_to,
                        dumps(data),
                        now,
                        conversation_id,
                    ),
                )
                row = await cursor.fetchone()
                assert row is not None
                await connection.execute(
                    "UPDATE conversations SET updated_at = %s WHERE id = %s",
                    (now, conversation_id),
                )
        except errors.UniqueViolation as exc:  # the row lock leaves only the id to clash
            raise ConflictError(f"message {message_id!r} is already stored") from exc
        return StoredMessage(
            seq=int(row[0]),
            author=author,
            content=content,
            name=name,
            message_id=message_id,
            in_reply_to=in_reply_to,
            metadata=data,
            created_at=now,
        )

    async def update(self, conversation_id: str, **fields: Any) -> Conversation:
        """Change state fields; returns the updated conversation.

        ``placeholders`` are merged into the stored map, never replace it.

        Raises:
            NotFoundError: There is no such conversation.
        """
        unknown = set(fields) - UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        assignments: list[LiteralString] = []
        args: list[Any] = []
        for name, value in fields.items():
            assignments.append(_ASSIGNMENTS[name])
            args.append(dumps(dict(value)) if name == "placeholders" else value)
        assignments.append("updated_at = %s")
        args.append(datetime.now(UTC))
        async with self.db.transaction() as connection:
            cursor = await connection.execute(
                f"UPDATE conversations SET {', '.join(assignments)} WHERE id = %s RETURNING id",
                (*args, conversation_id),
            )
            if await cursor.fetchone() is None:
                raise NotFoundError(f"no conversation {conversation_id!r}")
            return await _must_get(connection, conversation_id)

    async def in_states(self, states: Iterable[ConversationState]) -> list[Conversation]:
        """Conversations in any of `states`, oldest update first, without messages."""
        rows = await self.db.fetchall(
            f"SELECT {_COLUMNS} FROM conversation_states WHERE state = ANY(%s) ORDER BY updated_at",
            (list(states),),
        )
        return [_conversation(row) for row in rows]

    def secret(self) -> bytes:
        """The placeholder salt: ``$PYAGENT_STORE_SECRET`` (hex), else the database's.

        Prefer the environment variable (from a secret manager): a copy of the database
        then holds no key to the digests of personal data it keeps, so nobody holding a
        dump can test guesses (phone numbers, emails) against them. Without it, a random
        32-byte secret is stored once in table ``pyagent_secret`` and shared by every
        process (read when the store is opened).
        """
        return self._secret


def _read_secret(url: str) -> bytes:
    """``$PYAGENT_STORE_SECRET``, or the database's secret (created by the first process).

    ``secret()`` is synchronous (the protocol's), so this runs once, at construction, on
    a short synchronous connection.
    """
    configured = os.environ.get(SECRET_ENV, "").strip()
    if configured:
        try:
            key = bytes.fromhex(configured)
        except ValueError:
            key = b""
        if len(key) != 32:
            raise ConfigurationError(f"{SECRET_ENV} must be 32 bytes in hex (64 characters)")
        return key
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=10) as connection:
            # of processes starting at once, the first insert wins and all read that one
            connection.execute(
                "INSERT INTO pyagent_secret (id, secret) VALUES (1, %s)"
                " ON CONFLICT (id) DO NOTHING",
                (secrets.token_bytes(32),),
            )
            row = connection.execute("SELECT secret FROM pyagent_secret WHERE id = 1").fetchone()
    except psycopg.OperationalError as exc:
        raise StoreUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc
    assert row is not None
    logger.warning(
        "the PII digests' key is kept in the database (table pyagent_secret): a dump of it "
        "can test guesses against the digests; set %s to keep the key elsewhere",
        SECRET_ENV,
    )
    return bytes(row[0])


async def _get(connection: Connection, conversation_id: str) -> Conversation | None:
    cursor = await connection.execute(
        f"SELECT {_COLUMNS} FROM conversation_states WHERE id = %s", (conversation_id,)
    )
    row = await cursor.fetchone()
    if row is None:
        return None
    cursor = await connection.execute(
        f"SELECT {_MESSAGE_COLUMNS} FROM messages WHERE conversation_id = %s ORDER BY seq",
        (conversation_id,),
    )
    messages = await cursor.fetchall()
    return replace(_conversation(row), messages=tuple(_message(m) for m in messages))


async def _must_get(connection: Connection, conversation_id: str) -> Conversation:
    conversation = await _get(connection, conversation_id)
    if conversation is None:
        raise NotFoundError(f"no conversation {conversation_id!r}")
    return conversation


def _conversation(row: Sequence[Any]) -> Conversation:
    return conversation_from_row(row, decode_json=dict, decode_time=utc)


def _message(row: Sequence[Any]) -> StoredMessage:
    return message_from_row(row, decode_json=dict, decode_time=utc)
