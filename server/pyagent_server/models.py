"""Request and response bodies, so ``/docs`` shows every schema."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

__all__ = [
    "AuditEventOut",
    "AuditOut",
    "ConversationOut",
    "ConversationSummaryOut",
    "DecisionBody",
    "DraftBody",
    "ErrorOut",
    "HealthOut",
    "MessageBody",
    "MessageOut",
    "ReplyBody",
    "ReplyOut",
    "TicketEventBody",
    "UsageOut",
    "WebhookOut",
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


class DraftBody(BaseModel):
    """What a person sends for a held draft."""

    text: str | None = Field(
        default=None, description="null: send the bot's draft as it is; else send this instead."
    )


class DecisionBody(BaseModel):
    """A person's approval or refusal of a tool call."""

    note: str = Field(
        default="", max_length=2_000, description="Why (kept in the audit trail; no PII)."
    )


class TicketEventBody(BaseModel):
    """A helpdesk's ticket event (seed 004's ``ticket.created`` webhook)."""

    event_id: str = Field(description="The delivery's event id: redelivering it answers once.")
    ticket_id: str = Field(description="The ticket: one conversation, ``ticket-<id>``.")
    customer_id: str | None = Field(default=None, description="The customer, if known.")
    subject: str | None = Field(default=None, description="The ticket's subject.")
    body: str = Field(description="The customer's message.")


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
    held: bool = Field(
        default=False,
        description="The bot's answer waits as a draft for a person; `reply` is the notice.",
    )
    confidence: float | None = Field(
        default=None, description="The turn's computed confidence (what the send gate read)."
    )


class WebhookOut(BaseModel):
    """What a ticket event produced."""

    event_id: str
    ticket_id: str
    status: Literal["processed", "duplicate"] = Field(
        description="duplicate: this event was answered before; `reply` is that answer."
    )
    reply: ReplyOut


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


class AuditEventOut(BaseModel):
    """One audit event (redacted: scores, labels and placeholders, never raw PII)."""

    seq: int | None
    at: datetime
    kind: Literal["decision", "tool_call", "reply", "human_action"]
    conversation_id: str | None
    message_id: str | None
    actor: str | None = Field(description="The agent, the tool or the person.")
    confidence: float | None
    data: dict[str, Any] = Field(description="The event's details (route, tool, verdict...).")


class AuditOut(BaseModel):
    """Audit events, oldest first."""

    events: list[AuditEventOut]


class HealthOut(BaseModel):
    """Liveness."""

    status: Literal["ok"]


class ErrorOut(BaseModel):
    """Every error: one sentence, never a stack trace or the customer's text."""

    error: str
