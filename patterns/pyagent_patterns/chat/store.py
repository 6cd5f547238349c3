"""Where conversations live: the `ConversationStore` interface and its SQLite default.

Everything stored is already redacted: message texts carry placeholders, never the raw
personal data, and the placeholder map is kept as keyed hashes (see
`pyagent_guardrails.PlaceholderMap`), so it cannot be reversed. The SQLite file survives
restarts and can be shared by several processes (the server and ``pyagent queue``) thanks
to WAL mode. A Postgres store implements the same small interface.

Ids arrive here in their stored form: `ChatHandler` and `HandoffDesk` have already turned
email-like conversation, user and message ids into keyed pseudonyms (`Pseudonyms`, keyed
with this store's `secret`), so a store never sees, keeps or quotes them as given.
"""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol

from pyagent_providers import ConflictError, Message, NotFoundError

from ..escalations import default_data_dir

__all__ = [
    "Author",
    "ConversationState",
    "Conversation",
    "ConversationStore",
    "SQLiteConversationStore",
    "StoredMessage",
    "default_store_path",
]

ConversationState = Literal["bot", "waiting_for_human", "with_human"]
# customer: the end user; bot: the support system; human: a person from the queue;
# notice: an automatic acknowledgement (e.g. "your message was added to your case").
Author = Literal["customer", "bot", "human", "notice"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    user_id TEXT,
    state TEXT NOT NULL DEFAULT 'bot',
    tier TEXT,
    ticket_id TEXT,
    agent TEXT,
    summary TEXT,
    summary_upto INTEGER NOT NULL DEFAULT 0,
    placeholders TEXT NOT NULL DEFAULT '{}',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS conversations_state ON conversations (state);
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


def default_store_path() -> Path:
    """``$PYAGENT_DATA_DIR/conversations.sqlite3`` (``~/.pyagent`` by default)."""
    return default_data_dir() / "conversations.sqlite3"


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredMessage:
    """One message of a conversation, redacted.

    Attributes:
        seq: Position in the conversation, from 1.
        author: Who wrote it: ``customer``, ``bot``, ``human`` or ``notice``.
        content: The text (placeholders instead of personal data).
        name: The person's name for ``human`` messages.
        message_id: The customer's id for the message (idempotency key).
        in_reply_to: For replies, the ``message_id`` they answer.
        metadata: What was decided for a bot reply (route, tier, model, cost...).
        created_at: When it was stored (UTC).
    """

    seq: int
    author: Author
    content: str
    name: str | None = None
    message_id: str | None = None
    in_reply_to: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict[str, Any])
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def to_message(self) -> Message:
        """As a model-facing `Message`: customers are users, everyone else the assistant."""
        if self.author == "customer":
            return Message.user(self.content)
        return Message.assistant(self.content)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "seq": self.seq,
            "author": self.author,
            "name": self.name,
            "content": self.content,
            "message_id": self.message_id,
            "in_reply_to": self.in_reply_to,
            "metadata": dict(self.metadata),
            "created_at": self.created_at.isoformat(),
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Conversation:
    """A conversation's state and its messages, oldest first.

    Attributes:
        id: The conversation id.
        user_id: The customer it belongs to (``None`` if the embedder does not say).
        state: ``bot`` (the support system answers), ``waiting_for_human`` (escalated,
            in the queue) or ``with_human`` (a person claimed it).
        tier: The tier the conversation holds (``fast``/``smart``), for hysteresis.
        ticket_id: The escalation ticket, once escalated.
        agent: The person who claimed it.
        summary: Summary of the turns before `summary_upto` (context budget).
        summary_upto: Messages with ``seq <= summary_upto`` are covered by `summary`.
        placeholders: The PII placeholder map (keyed digests → placeholders).
        messages: The messages.
    """

    id: str
    user_id: str | None = None
    state: ConversationState = "bot"
    tier: str | None = None
    ticket_id: str | None = None
    agent: str | None = None
    summary: str | None = None
    summary_upto: int = 0
    placeholders: Mapping[str, str] = field(default_factory=dict[str, str])
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    updated_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    messages: tuple[StoredMessage, ...] = ()

    def reply_to(self, message_id: str) -> StoredMessage | None:
        """The stored reply to the customer's `message_id`, if there is one."""
        return next((m for m in self.messages if m.in_reply_to == message_id), None)

    def has_message(self, message_id: str) -> bool:
        """Whether the customer's `message_id` is stored."""
        return any(m.message_id == message_id for m in self.messages)

    def as_dict(self, *, with_messages: bool = True) -> dict[str, Any]:
        """JSON-ready (the placeholder digests are left out)."""
        data: dict[str, Any] = {
            "id": self.id,
            "user_id": self.user_id,
            "state": self.state,
            "tier": self.tier,
            "ticket_id": self.ticket_id,
            "agent": self.agent,
            "summary": self.summary,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }
        if with_messages:
            data["messages"] = [m.as_dict() for m in self.messages]
        return data


class ConversationStore(Protocol):
    """Persistence for conversations; `SQLiteConversationStore` is the default."""

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with its messages, or ``None``."""
        ...

    def create(self, conversation_id: str, *, user_id: str | None) -> Conversation:
        """A new, empty conversation (raises `ConflictError` if the id exists)."""
        ...

    def append(
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
        """Add a message (raises `ConflictError` if `message_id` is already stored)."""
        ...

    def update(self, conversation_id: str, **fields: Any) -> Conversation:
        """Change state fields; returns the updated conversation.

        Fields: state, tier, ticket_id, agent, summary, summary_upto, placeholders.
        """
        ...

    def in_states(self, states: Iterable[ConversationState]) -> list[Conversation]:
        """Conversations in any of `states`, oldest update first, without messages."""
        ...

    def secret(self) -> bytes:
        """A persistent secret for keyed hashing of personal data (the placeholder salt)."""
        ...


_UPDATABLE = frozenset(
    {"state", "tier", "ticket_id", "agent", "summary", "summary_upto", "placeholders"}
)


class SQLiteConversationStore:
    """Conversations in a SQLite file (WAL mode; safe across threads and processes).

    Args:
        path: The database file; `default_store_path()` when ``None``.
    """

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_store_path()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, timeout=30)
        self._lock = threading.Lock()
        with self._lock, self._db:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.executescript(_SCHEMA)

    def __repr__(self) -> str:
        return f"SQLiteConversationStore({str(self.path)!r})"

    def close(self) -> None:
        """Close the database."""
        self._db.close()

    def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with its messages, or ``None``."""
        with self._lock:
            row = self._db.execute(
                f"SELECT {_COLUMNS} FROM conversations WHERE id = ?", (conversation_id,)
            ).fetchone()
            if row is None:
                return None
            messages = self._db.execute(
                "SELECT seq, author, name, content, message_id, in_reply_to, metadata,"
                " created_at FROM messages WHERE conversation_id = ? ORDER BY seq",
                (conversation_id,),
            ).fetchall()
        return replace(_conversation(row), messages=tuple(_message(m) for m in messages))

    def create(self, conversation_id: str, *, user_id: str | None) -> Conversation:
        """A new, empty conversation (raises `ConflictError` if the id exists)."""
        now = datetime.now(UTC).isoformat()
        try:
            with self._lock, self._db:
                self._db.execute(
                    "INSERT INTO conversations (id, user_id, created_at, updated_at)"
                    " VALUES (?, ?, ?, ?)",
                    (conversation_id, user_id, now, now),
                )
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"conversation {conversation_id!r} already exists") from exc
        return self._must_get(conversation_id)

    def append(
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
        """Add a message (raises `ConflictError` if `message_id` is already stored)."""
        now = datetime.now(UTC)
        try:
            with self._lock, self._db:
                (seq,) = self._db.execute(
                    "SELECT COALESCE(MAX(seq), 0) + 1 FROM messages WHERE conversation_id = ?",
                    (conversation_id,),
                ).fetchone()
                self._db.execute(
                    "INSERT INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        conversation_id,
                        seq,
                        author,
                        name,
                        content,
                        message_id,
                        in_reply_to,
                        json.dumps(dict(metadata or {}), default=str),
                        now.isoformat(),
                    ),
                )
                self._db.execute(
                    "UPDATE conversations SET updated_at = ? WHERE id = ?",
                    (now.isoformat(), conversation_id),
                )
        except sqlite3.IntegrityError as exc:
            raise ConflictError(f"message {message_id!r} is already stored") from exc
        return StoredMessage(
            seq=seq,
            author=author,
            content=content,
            name=name,
            message_id=message_id,
            in_reply_to=in_reply_to,
            metadata=dict(metadata or {}),
            created_at=now,
        )

    def update(self, conversation_id: str, **fields: Any) -> Conversation:
        """Change state fields; returns the updated conversation."""
        unknown = set(fields) - _UPDATABLE
        if unknown:
            raise ValueError(f"cannot update {sorted(unknown)}")
        if "placeholders" in fields:
            fields["placeholders"] = json.dumps(dict(fields["placeholders"]))
        fields["updated_at"] = datetime.now(UTC).isoformat()
        assignments = ", ".join(f"{name} = ?" for name in fields)
        with self._lock, self._db:
            changed = self._db.execute(
                f"UPDATE conversations SET {assignments} WHERE id = ?",
                (*fields.values(), conversation_id),
            ).rowcount
        if not changed:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return self._must_get(conversation_id)

    def in_states(self, states: Iterable[ConversationState]) -> list[Conversation]:
        """Conversations in any of `states`, oldest update first, without messages."""
        wanted: Sequence[str] = tuple(states)
        marks = ", ".join("?" for _ in wanted)
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM conversations WHERE state IN ({marks})"
                " ORDER BY updated_at",
                wanted,
            ).fetchall()
        return [_conversation(row) for row in rows]

    def secret(self) -> bytes:
        """The store's placeholder salt, kept in a file beside the database (mode 0600).

        Kept out of the database on purpose: a copy of the database alone does not let
        anyone test guesses (phone numbers, emails) against the stored digests.
        """
        key_file = self.path.with_name(self.path.name + ".key")
        try:
            return bytes.fromhex(key_file.read_text().strip())
        except FileNotFoundError:
            pass
        key = secrets.token_bytes(32)
        try:
            descriptor = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process created it first
            return bytes.fromhex(key_file.read_text().strip())
        with os.fdopen(descriptor, "w") as handle:
            handle.write(key.hex())
        return key

    def _must_get(self, conversation_id: str) -> Conversation:
        conversation = self.get(conversation_id)
        if conversation is None:
            raise NotFoundError(f"no conversation {conversation_id!r}")
        return conversation


_COLUMNS = (
    "id, user_id, state, tier, ticket_id, agent, summary, summary_upto, placeholders,"
    " created_at, updated_at"
)


def _conversation(row: Sequence[Any]) -> Conversation:
    (id_, user_id, state, tier, ticket, agent, summary, upto, placeholders, created, updated) = row
    return Conversation(
        id=id_,
        user_id=user_id,
        state=state,
        tier=tier,
        ticket_id=ticket,
        agent=agent,
        summary=summary,
        summary_upto=upto,
        placeholders=json.loads(placeholders),
        created_at=datetime.fromisoformat(created),
        updated_at=datetime.fromisoformat(updated),
    )


def _message(row: Sequence[Any]) -> StoredMessage:
    seq, author, name, content, message_id, in_reply_to, metadata, created = row
    return StoredMessage(
        seq=seq,
        author=author,
        name=name,
        content=content,
        message_id=message_id,
        in_reply_to=in_reply_to,
        metadata=json.loads(metadata),
        created_at=datetime.fromisoformat(created),
    )
