"""Request and response bodies, so ``/docs`` shows every schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "ConversationOut",
    "ConversationSummaryOut",
    "ErrorOut",
    "HealthOut",
    "MessageBody",
    "MessageOut",
    "ReplyBody",
    "ReplyOut",
    "UsageOut",
]

State = Literal["bot", "waiting_for_human", "with_human"]


class MessageBody(BaseModel):
    """A customer's message."""

    text: str = Field(description="The message.")
    message_id: str | None = Field(
        default=None,
        description="Your id for the message: delivering it again returns the same reply.",
    )


class ReplyBody(BaseModel):
    """A person's reply to the customer."""

    text: str = Field(description="The reply.")


class UsageOut(BaseModel):
    """Tokens the turn used."""

    input_tokens: int
    output_tokens: int


class ReplyOut(BaseModel):
    """The answer to one customer message."""

    conversation_id: str
    message_id: str | None
    reply: str = Field(description="The reply text (redacted: placeholders, not PII).")
    state: State
    route: str | None
    tier: str | None = Field(description="fast, smart or human.")
    tier_reason: str | None
    model: str | None = Field(description="The model that answered.")
    escalated: bool
    ticket_id: str | None
    recovery_level: int = Field(
        description="0 first try, 1 a retry, 2 the fallback model, 3 a holding notice."
    )
    usage: UsageOut
    cost_usd: str | None = Field(description="What the turn cost; null when a price is unknown.")
    duplicate: bool = Field(description="True when this message id was answered before.")


class MessageOut(BaseModel):
    """One stored (redacted) message."""

    seq: int
    author: Literal["customer", "bot", "human", "notice"]
    name: str | None
    content: str
    message_id: str | None
    in_reply_to: str | None
    metadata: dict[str, Any]
    created_at: datetime


class ConversationSummaryOut(BaseModel):
    """A conversation without its messages (a queue listing, a state change)."""

    id: str
    user_id: str | None
    state: State
    tier: str | None
    ticket_id: str | None
    agent: str | None
    summary: str | None
    created_at: datetime
    updated_at: datetime


class ConversationOut(ConversationSummaryOut):
    """A conversation with its (redacted) messages."""

    messages: list[MessageOut]


class HealthOut(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class ErrorOut(BaseModel):
    """Every error: one sentence, never a stack trace or the customer's text."""

    error: str
