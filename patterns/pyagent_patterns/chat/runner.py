"""`TurnRunner`: runs the support system for one customer message and stores the outcome.

`ChatHandler` decides which message to answer, under the conversation's locks; the
runner answers it: the run context (who, the message, the tier hold, the customer's
profile), the system's run under the action gate (one trace per turn), and what the
turn leaves behind (the reply, or the held draft and its notice, the case, the tier,
the audit events). It also answers earlier messages whose turn never finished and
replays a stored turn as a dry run.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from pyagent_providers import Message, NotFoundError
from pyagent_providers.telemetry import set_attributes, turn_span
from pyagent_router import CustomerProfile, Signals
from pyagent_router.context import RunContext

from ..actions import ActionGate, AuditQuery, Condition
from ..base import Runnable, RunResult
from .history import HistoryWindow
from .redaction import Redactor
from .replies import ChatReply, Replay, TierHold
from .sending import HELD_NOTICE, SendPolicy, reasons_to_hold
from .store import Conversation, ConversationStore
from .streaming import QueueSink
from .turns import decision_events, escalates, hold_draft, open_case, reply_metadata

__all__ = ["ProfileHook", "TurnRunner", "upto"]

logger = logging.getLogger("pyagent.chat")

ProfileHook = Callable[[str | None], CustomerProfile | None | Awaitable[CustomerProfile | None]]
"""Gives the customer's profile from their (stored-form) user id, sync or async."""


class TurnRunner:
    """Answers customer messages with `system` and stores each turn's outcome.

    Args:
        system: The pattern that answers a conversation.
        store: The conversations.
        redactor: Redacts drafts and recorded tool arguments.
        history: Fits the history into the context budget.
        gate: Decides and records the turn's tool calls.
        send_policy: When a reply is sent and when it waits as a draft.
        tier_hold: Hysteresis across turns (``None``: every turn chooses afresh).
        customer_profile: The customer's profile for policies.
    """

    def __init__(
        self,
        system: Runnable,
        store: ConversationStore,
        redactor: Redactor,
        history: HistoryWindow,
        *,
        gate: ActionGate,
        send_policy: SendPolicy,
        tier_hold: TierHold | None,
        customer_profile: ProfileHook | None,
    ) -> None:
        self.system = system
        self.store = store
        self.redactor = redactor
        self.history = history
        self.gate = gate
        self.send_policy = send_policy
        self.tier_hold = tier_hold
        self.customer_profile = customer_profile

    async def answer_earlier(
        self, conversation: Conversation, message_id: str, user_id: str | None
    ) -> Conversation:
        """Answer, oldest first, the customer's earlier messages whose turn never finished.

        A turn that failed after its message was stored (a worker killed, the database
        restarting) leaves the message unanswered until it is delivered again. The next
        turn of the conversation answers it first, so replies keep the order of the
        questions; the redelivery then gets the stored reply.
        """
        seq = next(m.seq for m in conversation.messages if m.message_id == message_id)
        earlier = [
            m.message_id
            for m in conversation.messages
            if m.author == "customer" and m.message_id is not None and m.seq < seq
            if conversation.reply_to(m.message_id) is None
        ]
        for pending in earlier:
            if conversation.state != "bot":  # an earlier turn handed it to a person
                break
            logger.info("answering stored message %s before %s", pending, message_id)
            await self.answer(upto(conversation, pending), pending, user_id, None)
            refreshed = await self.store.get(conversation.id)  # its reply is history now
            assert refreshed is not None, "a conversation with messages exists"
            conversation = refreshed
        return conversation

    async def answer(
        self,
        conversation: Conversation,
        message_id: str,
        user_id: str | None,
        sink: QueueSink | None,
    ) -> ChatReply:
        """Run the system for `message_id` and store what the turn decided."""
        history = await self.history.window(conversation)
        context = await self.context(conversation, message_id, user_id, sink)
        # Tool arguments are redacted with the conversation's placeholders before they
        # are recorded.
        gate = replace(self.gate, redact=partial(self.redactor.scrub, conversation.id))
        with turn_span(conversation.id, message_id=message_id) as span, gate.active():
            result = await self.system.run(history, context=context)
            reply = await self._settle(conversation, message_id, result, context, history)
            set_attributes(
                span,
                route=reply.route,
                tier=reply.tier,
                confidence=reply.confidence,
                escalated=reply.escalated,
                sent=not reply.held,
            )
        return reply

    async def _settle(
        self,
        conversation: Conversation,
        message_id: str,
        result: RunResult,
        context: RunContext,
        history: list[Message],
    ) -> ChatReply:
        """Store the turn's outcome: reply (or held draft), case, tier and audit events."""
        record = result.record
        escalated = escalates(record)
        held: tuple[str, ...] = ()
        if not escalated:
            held = await reasons_to_hold(
                result,
                policy=self.send_policy,
                signals=context.signals or Signals(),
                conversation_id=conversation.id,
            )
        text = str(result.output)
        # The case first: a stored reply never names a case that is not there.
        if held:
            draft = await self.redactor.scrub(conversation.id, text)
            ticket_id = await hold_draft(
                self.store, conversation.id, message_id, draft=draft, reasons=held, history=history
            )
            text = HELD_NOTICE.format(ticket=ticket_id)
        elif escalated:
            ticket_id = await open_case(self.store, conversation.id, message_id, record, history)
        else:
            ticket_id = record.ticket_id
        waits = escalated or bool(held)
        tier = "human" if waits else record.tier
        if waits:  # linked before the reply that names it: a crash between leaves no orphan
            await self.store.update(conversation.id, ticket_id=ticket_id)
        await self.store.append(
            conversation.id,
            author="notice" if held else "bot",
            content=text,
            in_reply_to=message_id,
            metadata=reply_metadata(result, tier=tier, ticket_id=ticket_id, held=held),
        )
        if not waits and tier in ("fast", "smart"):
            await self.store.update(conversation.id, tier=tier)
        if record.tool_calls or held:  # recorded arguments or a draft may add placeholders
            await self.redactor.save(conversation.id)
        await self.store.audit.record(
            *decision_events(
                conversation.id,
                message_id,
                result,
                ticket_id=ticket_id,
                held=held,
                escalated=escalated,
            )
        )
        return ChatReply(
            conversation_id=conversation.id,
            message_id=message_id,
            reply=text,
            state="waiting_for_human" if waits else "bot",
            route=record.route,
            tier=tier,
            tier_reason=record.tier_reason,
            model=record.model,
            escalated=waits,
            ticket_id=ticket_id,
            recovery_level=record.recovery_level,
            usage=result.usage,
            held=bool(held),
            confidence=record.confidence,
        )

    async def context(
        self,
        conversation: Conversation,
        message_id: str,
        user_id: str | None,
        sink: QueueSink | None,
    ) -> RunContext:
        """The run context of a turn: who, the message, and the conversation's tier hold.

        A reply that the send policy may hold is not streamed: the customer must not read
        what a person has yet to approve.
        """
        profile = await self._profile(user_id)
        held = self.tier_hold is not None and conversation.tier == "smart"
        return RunContext(
            conversation_id=conversation.id,
            message_id=message_id,
            user_id=user_id,
            hold_tier="smart" if held else None,
            release_below=self.tier_hold.release_below if self.tier_hold and held else None,
            stream_sink=None if self.send_policy.may_hold(profile) else sink,
            signals=Signals(customer=profile) if profile is not None else None,
        )

    async def _profile(self, user_id: str | None) -> CustomerProfile | None:
        if self.customer_profile is None:
            return None
        profile = self.customer_profile(user_id)
        return await profile if inspect.isawaitable(profile) else profile

    async def replay(self, conversation: Conversation, message_id: str | None = None) -> Replay:
        """Run a stored turn of `conversation` again as a dry run: then beside now.

        Nothing acts and nothing is stored: side-effecting tools are described (or show
        their recorded outcome), no case is opened, no audit event is written. Model
        calls are real (and metered).

        Raises:
            NotFoundError: It has no such customer message.
        """
        target = message_id or next(
            (m.message_id for m in reversed(conversation.messages) if m.author == "customer"),
            None,
        )
        if target is None or not conversation.has_message(target):
            raise NotFoundError(f"conversation {conversation.id!r} has no such customer message")
        history = await self.history.window(upto(conversation, target), save=False)
        context = await self.context(conversation, target, conversation.user_id, None)
        dry = replace(self.gate, audit=None, queue=None)
        with dry.active():
            now = await self.system.run(history, context=context.with_(dry_run=True))
        then_events = await self.store.audit.query(
            AuditQuery(
                conversation_id=conversation.id, where=(Condition("message_id", "=", target),)
            )
        )
        held = await reasons_to_hold(
            now,
            policy=self.send_policy,
            signals=context.signals or Signals(),
            conversation_id=conversation.id,
        )
        return Replay(
            conversation_id=conversation.id,
            message_id=target,
            then=conversation.reply_to(target),
            then_events=tuple(then_events),
            now=now,
            held_now=() if escalates(now.record) else held,
        )


def upto(conversation: Conversation, message_id: str) -> Conversation:
    """`conversation` as it was when the customer's `message_id` arrived."""
    seq = next(m.seq for m in conversation.messages if m.message_id == message_id)
    return replace(conversation, messages=tuple(m for m in conversation.messages if m.seq <= seq))
