"""Where conversations live: the `ConversationStore` interface and its SQLite default.

Everything stored is already redacted: message texts carry placeholders, never the raw
personal data, and the placeholder map is kept as keyed hashes (see
`pyagent_guardrails.PlaceholderMap`), so it cannot be reversed. The protocol is async so a
slow or locked database never stalls the event loop; `SQLiteConversationStore`
(``sqlite_store``) is the embedded default, shared safely by several processes.

Ids arrive here in their stored form: `ChatHandler` and `HandoffDesk` have already turned
email-like conversation, user and message ids into keyed pseudonyms (`Pseudonyms`, keyed
with this store's `secret`), so a store never sees, keeps or quotes them as given.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, LiteralString, Protocol

from pyagent_providers import Message

from ..actions import ActionLedger, AuditLog
from ..escalations import EscalationQueue, default_data_dir

__all__ = [
    "Author",
    "ConversationState",
    "Conversation",
    "ConversationStore",
    "CONVERSATION_COLUMNS",
    "MESSAGE_COLUMNS",
    "StoredMessage",
    "conversation_from_row",
    "default_store_path",
    "message_from_row",
]

ConversationState = Literal["bot", "waiting_for_human", "with_human"]
# customer: the end user; bot: the support system; human: a person from the queue;
# notice: an automatic acknowledgement (e.g. "your message was added to your case").
Author = Literal["customer", "bot", "human", "notice"]


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
            in the queue) or ``with_human`` (a person claimed it); read from the case.
        tier: The tier the conversation holds (``fast``/``smart``), for hysteresis.
        ticket_id: The conversation's latest escalation case (its hand-off record).
        agent: The person who claimed the case.
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
        """The latest stored reply to the customer's `message_id`, if there is one.

        A message can have several: a notice that a person must approve a step, then the
        answer once they did.
        """
        return next((m for m in reversed(self.messages) if m.in_reply_to == message_id), None)

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
    """Persistence for conversations, async; `SQLiteConversationStore` is the default.

    Implementations must keep what they acknowledge (a returned `append` is durable) and
    serialise the turns of one conversation across every process that shares them
    (`turn_lock`). A conversation's hand-off is one record, its case in `escalations`:
    the conversation stores the case's id, and its ``state`` and ``agent`` follow the case.
    """

    @property
    def escalations(self) -> EscalationQueue:
        """The conversations' cases (where ``ticket_id`` points)."""
        ...

    @property
    def actions(self) -> ActionLedger:
        """The side-effecting tool calls of the conversations' turns, by idempotency key."""
        ...

    @property
    def audit(self) -> AuditLog:
        """The audit trail of the conversations' turns and of the people who work them."""
        ...

    async def get(self, conversation_id: str) -> Conversation | None:
        """The conversation with its messages, or ``None``."""
        ...

    async def create(self, conversation_id: str, *, user_id: str | None) -> Conversation:
        """A new, empty conversation (raises `ConflictError` if the id exists)."""
        ...

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
        """Add a message (raises `ConflictError` if `message_id` is already stored)."""
        ...

    async def update(self, conversation_id: str, **fields: Any) -> Conversation:
        """Change state fields; returns the updated conversation.

        Fields: tier, ticket_id, summary, summary_upto, placeholders.
        """
        ...

    async def in_states(self, states: Iterable[ConversationState]) -> list[Conversation]:
        """Conversations in any of `states`, oldest update first, without messages."""
        ...

    def turn_lock(self, conversation_id: str) -> AbstractAsyncContextManager[object]:
        """Held while one turn of the conversation runs, by whichever process runs it."""
        ...

    def secret(self) -> bytes:
        """A persistent secret for keyed hashing of personal data (the placeholder salt)."""
        ...


UPDATABLE = frozenset({"tier", "ticket_id", "summary", "summary_upto", "placeholders"})

# What every backend selects, in the order `conversation_from_row` and `message_from_row` read.
CONVERSATION_COLUMNS: LiteralString = (
    "id, user_id, state, tier, ticket_id, agent, summary, summary_upto, placeholders,"
    " created_at, updated_at"
)
MESSAGE_COLUMNS: LiteralString = (
    "seq, author, name, content, message_id, in_reply_to, metadata, created_at"
)
Decode = Callable[[Any], Any]


def conversation_from_row(
    row: Sequence[Any], *, decode_json: Decode, decode_time: Decode
) -> Conversation:
    """A `CONVERSATION_COLUMNS` row as a `Conversation` (without messages).

    Each backend says how its JSON and timestamps come back (SQLite: text; PostgreSQL:
    decoded values).
    """
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
        placeholders=decode_json(placeholders),
        created_at=decode_time(created),
        updated_at=decode_time(updated),
    )


def message_from_row(
    row: Sequence[Any], *, decode_json: Decode, decode_time: Decode
) -> StoredMessage:
    """A `MESSAGE_COLUMNS` row as a `StoredMessage` (see `conversation_from_row`)."""
    seq, author, name, content, message_id, in_reply_to, metadata, created = row
    return StoredMessage(
        seq=seq,
        author=author,
        name=name,
        content=content,
        message_id=message_id,
        in_reply_to=in_reply_to,
        metadata=decode_json(metadata),
        created_at=decode_time(created),
    )
