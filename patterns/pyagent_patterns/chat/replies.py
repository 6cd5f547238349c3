"""What a chat turn produces (`ChatReply`, `ChatEvent`) and the handler's settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pyagent_providers import Usage

from ..actions import AuditEvent
from ..base import RunResult
from .store import Conversation, ConversationState, StoredMessage

__all__ = [
    "HOLD_SMART_TIER",
    "ChatEvent",
    "ChatReply",
    "ContextBudget",
    "TierHold",
    "replayed",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class TierHold:
    """Hysteresis across turns.

    Once a turn needs the expensive tier, the conversation holds it: later turns stay on
    it while their difficulty is at least `release_below`, and return to the cheap tier
    at the first turn below it (the issue is resolved or the question is simple).

    Attributes:
        release_below: Difficulty under which a held conversation returns to ``fast``.
    """

    release_below: int = 3


HOLD_SMART_TIER = TierHold()


@dataclass(frozen=True, kw_only=True, slots=True)
class ContextBudget:
    """How much history the model sees.

    When the history since the last summary exceeds `max_tokens` (a tiktoken estimate),
    everything but the `keep_recent` latest messages is folded into the stored summary
    (or dropped, without a summarizer). The summary is computed once and stored, not
    recomputed every turn.

    Attributes:
        max_tokens: Token budget for the history sent to the model.
        keep_recent: Messages always sent verbatim.
    """

    max_tokens: int = 3_000
    keep_recent: int = 6


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatReply:
    """What one customer message produced.

    The ids are the caller's, as given, even when an email-like id is stored and logged
    as its pseudonym (see the module docstring).

    Attributes:
        conversation_id: The conversation.
        message_id: The customer's message id (given, or generated).
        reply: The text for the customer.
        state: The conversation's state after the turn.
        route: The Supervisor route (``None`` when no bot answered).
        tier: ``fast``, ``smart``, ``human`` or ``None``.
        tier_reason: Why that tier.
        model: The model id that wrote the reply.
        escalated: Whether the conversation is with the human queue.
        ticket_id: The escalation ticket, if any.
        recovery_level: 0 the first attempt answered, 1 a retry, 2 the fallback model, 3 a
            holding notice (`BoundedExecution`): a fallback answer never looks normal.
        usage: Tokens this turn used, and what they cost (`cost`, USD).
        duplicate: The message id was delivered before; this is the stored reply.
        held: The bot's answer waits as a draft for a person (`SendPolicy`); `reply` is
            the notice the customer got instead.
        confidence: The turn's computed confidence (what the send gate read).
    """

    conversation_id: str
    message_id: str
    reply: str
    state: ConversationState
    route: str | None = None
    tier: str | None = None
    tier_reason: str | None = None
    model: str | None = None
    escalated: bool = False
    ticket_id: str | None = None
    recovery_level: int = 0
    usage: Usage = field(default_factory=Usage)
    duplicate: bool = False
    held: bool = False
    confidence: float | None = None

    @property
    def cost(self) -> Decimal | None:
        """What those tokens cost (``usage.cost``; ``None``: a model has no price)."""
        return self.usage.cost

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "reply": self.reply,
            "state": self.state,
            "route": self.route,
            "tier": self.tier,
            "tier_reason": self.tier_reason,
            "model": self.model,
            "escalated": self.escalated,
            "ticket_id": self.ticket_id,
            "recovery_level": self.recovery_level,
            "usage": {
                "input_tokens": self.usage.input_tokens,
                "output_tokens": self.usage.output_tokens,
            },
            "cost_usd": None if self.cost is None else str(self.cost),
            "duplicate": self.duplicate,
            "held": self.held,
            "confidence": self.confidence,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class Replay:
    """A stored turn run again as a dry run (`ChatHandler.replay`): then and now.

    Attributes:
        conversation_id: The conversation (stored form).
        message_id: The customer message replayed.
        then: The reply stored for it (``None``: it was never answered).
        then_events: The audit events of its turn(s).
        now: What the system decides today, with no side effect and no case opened.
        held_now: Why today's reply would wait for a person (empty: it would be sent).
    """

    conversation_id: str
    message_id: str
    then: StoredMessage | None
    then_events: tuple[AuditEvent, ...]
    now: RunResult
    held_now: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ChatEvent:
    """One event of `ChatHandler.stream_reply`.

    ``delta`` carries more reply text; ``reset`` says to discard the text so far (a retry
    or fallback starts over); ``done`` carries the final `ChatReply`.
    """

    type: Literal["delta", "reset", "done"]
    text: str = ""
    reply: ChatReply | None = None


def replayed(conversation: Conversation, message_id: str, stored: StoredMessage) -> ChatReply:
    """The stored reply to a message id delivered again (``duplicate``)."""
    meta: Mapping[str, Any] = stored.metadata
    return ChatReply(
        conversation_id=conversation.id,
        message_id=message_id,
        reply=stored.content,
        state=conversation.state,
        route=meta.get("route"),
        tier=meta.get("tier") or ("human" if stored.author == "notice" else None),
        tier_reason=meta.get("tier_reason"),
        model=meta.get("model"),
        escalated=conversation.state != "bot",
        ticket_id=meta.get("ticket_id") or conversation.ticket_id,
        recovery_level=int(meta.get("recovery_level") or 0),
        duplicate=True,
        held=bool(meta.get("held")),
        confidence=meta.get("confidence"),
    )
