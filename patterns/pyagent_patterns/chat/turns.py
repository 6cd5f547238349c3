"""What a turn leaves behind: the bot's stored reply, the conversation's case, notices.

`ChatHandler` runs the turn; these helpers write its outcome. A conversation's hand-off is
one record, its case in ``store.escalations``: when the system escalated into that queue
its case is used as is, and otherwise (a holding notice, or a system that queues
elsewhere) the turn opens the conversation's case there, so the queue a person works
from always holds every conversation that waits for one.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from pyagent_providers import Message

from ..actions import AuditEvent
from ..base import RunResult
from ..record import RecoveryLevel, TurnRecord
from .replies import ChatReply
from .store import Conversation, ConversationStore

__all__ = [
    "ACKNOWLEDGEMENT",
    "acknowledge",
    "decision_events",
    "escalates",
    "hold_draft",
    "open_case",
    "reply_metadata",
]

# What the customer is told while a person has not answered yet: true in either state.
ACKNOWLEDGEMENT = {
    "waiting_for_human": (
        "Thanks, I've added this to your case{ticket}. It is waiting for the next member of "
        "our team, who will reply here."
    ),
    "with_human": (
        "Thanks, I've added this to your case{ticket}. {agent} has it and will reply here."
    ),
}
HOLDING_SUMMARY = (
    "Nothing could answer the customer's latest message; they were told the team will "
    "follow up. Answer it."
)


def escalates(record: TurnRecord) -> bool:
    """Whether the turn hands the conversation to a person.

    A holding notice promises a follow-up, so it joins the human queue too.
    """
    return record.escalated or record.recovery_level == RecoveryLevel.HOLDING_NOTICE


def reply_metadata(
    result: RunResult, *, tier: str | None, ticket_id: str | None, held: tuple[str, ...] = ()
) -> dict[str, Any]:
    """What is stored with the bot's reply (what `replayed` gives back)."""
    record = result.record
    return {
        "confidence": record.confidence,
        "held": list(held),
        "route": record.route,
        "tier": tier,
        "tier_reason": record.tier_reason,
        "difficulty": record.difficulty,
        "model": record.model,
        "recovery_level": int(record.recovery_level),
        "ticket_id": ticket_id,
        "input_tokens": result.usage.input_tokens,
        "output_tokens": result.usage.output_tokens,
        "cost_usd": None if result.cost is None else str(result.cost),
    }


async def open_case(
    store: ConversationStore,
    conversation_id: str,
    message_id: str,
    record: TurnRecord,
    history: Sequence[Message],
) -> str:
    """The id of the turn's case in ``store.escalations``, opened there if it is not.

    One case per customer message: a redelivered message finds the case its first
    delivery opened.
    """
    cases = store.escalations
    if record.ticket_id is not None and await cases.get(record.ticket_id) is not None:
        return record.ticket_id
    holding = not record.escalated
    case = await cases.put(
        key=f"turn:{conversation_id}:{message_id}",
        summary=HOLDING_SUMMARY if holding else (record.escalation_reason or "Escalated."),
        reason="holding_notice" if holding else (record.escalation_reason or "escalated"),
        conversation=history,
        priority="high" if holding else "normal",
        conversation_id=conversation_id,
        # a system may label the case for the person (seed 001's labels)
        metadata={
            "escalation_reasons": list(record.escalation_reasons),
            "labels": list(record.notes.get("labels", ())),
        },
    )
    return case.id


async def hold_draft(
    store: ConversationStore,
    conversation_id: str,
    message_id: str,
    *,
    draft: str,
    reasons: Sequence[str],
    history: Sequence[Message],
) -> str:
    """Queue the bot's (redacted) answer as a draft for a person; the case's id."""
    case = await store.escalations.put(
        key=f"draft:{conversation_id}:{message_id}",
        summary="The bot's answer waits for review: " + "; ".join(reasons) + ".",
        reason="draft review",
        conversation=history,
        conversation_id=conversation_id,
        metadata={"draft": draft, "held_because": list(reasons), "message_id": message_id},
    )
    return case.id


def decision_events(
    conversation_id: str,
    message_id: str,
    result: RunResult,
    *,
    ticket_id: str | None,
    held: Sequence[str],
    escalated: bool,
) -> tuple[AuditEvent, AuditEvent]:
    """The audit events of a turn: what it decided, and whether its reply was sent."""
    record = result.record
    event = partial(
        AuditEvent,
        conversation_id=conversation_id,
        message_id=message_id,
        actor=record.agent,
        confidence=record.confidence,
    )
    decision = event(
        kind="decision",
        data={
            "route": record.route,
            "tier": record.tier,
            "tier_reason": record.tier_reason,
            "difficulty": record.difficulty,
            "model": record.model,
            "escalated": escalated,
            "escalation_reasons": list(record.escalation_reasons),
            "recovery_level": int(record.recovery_level),
            "tool_calls": [call.name for call in record.tool_calls],
            "input_tokens": result.usage.input_tokens,
            "output_tokens": result.usage.output_tokens,
            "cost_usd": None if result.cost is None else str(result.cost),
        },
    )
    sent = not held  # a hand-off notice is sent too; a held answer is not
    reply = event(
        kind="reply", data={"sent": sent, "held_because": list(held), "ticket_id": ticket_id}
    )
    return decision, reply


async def acknowledge(
    store: ConversationStore, conversation: Conversation, message_id: str
) -> ChatReply:
    """Keep a message for the person who has (or will have) the case, and say so."""
    ticket = f" {conversation.ticket_id}" if conversation.ticket_id else ""
    text = ACKNOWLEDGEMENT[conversation.state].format(
        ticket=ticket, agent=conversation.agent or "A member of our team"
    )
    await store.append(
        conversation.id,
        author="notice",
        content=text,
        in_reply_to=message_id,
        metadata={"state": conversation.state},
    )
    return ChatReply(
        conversation_id=conversation.id,
        message_id=message_id,
        reply=text,
        state=conversation.state,
        tier="human",
        escalated=True,
        ticket_id=conversation.ticket_id,
    )
