"""`ChatHandler`: the multi-turn support conversation a service embeds.

One call per customer message::

    handler = ChatHandler(system, "conversations.sqlite3", guard=guard, placeholders=pmap)
    reply = await handler.reply("conv-42", "My webhooks stopped", message_id="msg-1")

Each turn, under a per-conversation lock: validate → rate-limit → redact (placeholders
stay consistent for the whole conversation, across restarts) → store the customer's
message → if a person has the case, store it for them and acknowledge → otherwise fit
the history into the context budget (older turns folded into a stored summary) → run the
support system with the conversation's tier hold → store the reply and the new state.

- **Idempotent**: a ``message_id`` seen before returns the stored reply (``duplicate``);
  a message stored but never answered (a crash mid-turn) is answered on redelivery.
- **Durable**: history, summary, tier, escalation state and the placeholder map are in the
  store (SQLite by default), so a restart loses nothing.
- **Human handoff**: an escalated conversation waits in the queue (`queue`); new customer
  messages are kept for the person and acknowledged; `claim`, `human_reply` and
  `hand_back` are the person's side.
- **PII**: only redacted text is stored or logged. The placeholder map is kept as keyed
  hashes (HMAC-SHA-256 with the store's secret), so it cannot be reversed: replies that
  mention a placeholder (``<PERSON_1>``) are shown as such.
- **Email-like ids**: a conversation, user or message id that looks like an email
  (``jane.doe@example.com``) is replaced, as soon as it is validated, by its keyed
  pseudonym (``anon:…``, see `Pseudonyms`); other ids are kept as given. The store, the
  escalation queue and cost records (through the run context), log records and error
  messages only see that stored form. The `ChatReply` of a turn gives the caller's own
  ids back (in memory only); what is read back from the store (`conversation`, `queue`,
  `claim`...) carries the stored form, and either form finds the same conversation.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import replace
from pathlib import Path

from pyagent_guardrails import GuardrailChain, PlaceholderMap
from pyagent_providers import ConflictError
from pyagent_providers.logs import conversation_scope

from ..actions import ActionGate, DefaultToolPolicy, PolicyArg
from ..base import Runnable
from .desk import HandoffDesk
from .history import HistoryWindow
from .limits import RateLimiter, RateLimits
from .pseudonyms import Pseudonyms
from .redaction import Redactor
from .replies import (
    HOLD_SMART_TIER,
    ChatEvent,
    ChatReply,
    ContextBudget,
    Replay,
    TierHold,
    replayed,
)
from .runner import ProfileHook, TurnRunner, upto
from .sending import SendPolicy
from .store import Conversation, ConversationStore, StoredMessage
from .stores import open_store
from .streaming import QueueSink, outcome
from .turns import acknowledge
from .validation import check_owner, checked_id, checked_name, checked_text, owned_conversation

__all__ = ["ChatEvent", "ChatHandler", "ChatReply", "ContextBudget", "ProfileHook", "TierHold"]

logger = logging.getLogger("pyagent.chat")

WARM_UP_TEXT = "Hello, I'm Ana (ana@example.com). How do I reset my password?"


class ChatHandler:
    """Multi-turn conversations over a support system (see the module docstring).

    Args:
        system: The pattern that answers a conversation (e.g. the cookbook's
            `BoundedExecution`-wrapped Supervisor); its result's `TurnRecord` says what
            was decided. Give its `HumanInTheLoop` the store's queue
            (``store.escalations``) so its cases are the conversations' own.
        store: A `ConversationStore`, or a SQLite path (default
            ``$PYAGENT_DATA_DIR/conversations.sqlite3``).
        guard: Input guards (length, PII). Without one, text is stored as given.
        placeholders: The `PlaceholderMap` the guard's `PIIGuard` uses, so each
            conversation's map can be saved and restored; build it with
            ``PlaceholderMap(salt=store.secret())`` so digests match after a restart.
        summarizer: Writes the summary of older turns; without one they are dropped.
        context_budget: History budget per turn.
        tier_hold: Hysteresis across turns; ``None`` lets every turn choose afresh.
        limits: Message rate limits per conversation and per user.
        max_message_chars: Longest customer message accepted.
        warm_up: Loads the system's models (see `warm_up`); called once, at start-up.
        tool_policy: Decides every tool call of a turn (`ToolPolicy`); the calls run
            through an `ActionGate` on the store's ledger, queue and audit trail.
        send_policy: When a reply is sent on its own and when it waits as a draft
            (reply guards, confidence threshold, enterprise customers).
        customer_profile: The customer's profile for policies (`ProfileHook`).
    """

    def __init__(
        self,
        system: Runnable,
        store: ConversationStore | str | Path | None = None,
        *,
        guard: GuardrailChain | None = None,
        placeholders: PlaceholderMap | None = None,
        summarizer: Runnable | None = None,
        context_budget: ContextBudget | None = None,
        tier_hold: TierHold | None = HOLD_SMART_TIER,
        limits: RateLimits | None = None,
        max_message_chars: int = 8_000,
        warm_up: Callable[[], Awaitable[object]] | None = None,
        tool_policy: PolicyArg | None = None,
        send_policy: SendPolicy | None = None,
        customer_profile: ProfileHook | None = None,
    ) -> None:
        self.system = system
        self._warm_up = warm_up
        self.store: ConversationStore = (
            store if store is not None and not isinstance(store, str | Path) else open_store(store)
        )
        self.ids = Pseudonyms(self.store.secret())  # email-like ids → stored form
        self.redactor = Redactor(self.store, guard, placeholders)
        self.desk = HandoffDesk(
            self.store, self.redactor, max_message_chars=max_message_chars, ids=self.ids
        )
        self.limiter = RateLimiter(limits or RateLimits())
        self.max_message_chars = max_message_chars
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self.runner = TurnRunner(
            system,
            self.store,
            self.redactor,
            HistoryWindow(self.store, context_budget or ContextBudget(), summarizer),
            gate=ActionGate(
                policy=tool_policy or DefaultToolPolicy(),
                ledger=self.store.actions,
                audit=self.store.audit,
                queue=self.store.escalations,
            ),
            send_policy=send_policy or SendPolicy(),
            tier_hold=tier_hold,
            customer_profile=customer_profile,
        )

    # -- the customer's side -----------------------------------------------------------

    async def warm_up(self) -> None:
        """Load every model the first message would otherwise wait for.

        The guards (spaCy, Presidio) and the system's own warm-up (embeddings, classifiers)
        run before the first deadline starts; ``pyagent serve`` does this before it
        accepts a request. Nothing is stored.
        """
        if self.redactor.guard is not None:
            await self.redactor.guard.acheck(WARM_UP_TEXT, conversation_id="-warm-up-")
        if self._warm_up is not None:
            await self._warm_up()

    async def reply(
        self,
        conversation_id: str,
        text: str,
        message_id: str | None = None,
        *,
        user_id: str | None = None,
    ) -> ChatReply:
        """Answer one customer message (see the module docstring).

        Raises:
            UserError: Bad ids, an empty, too long or non-text message, or a guard refused
                it; the conversation is left as it was.
            NotFoundError: The conversation belongs to another user (answered like one
                that does not exist, so ids cannot be probed).
            TooManyRequests: A rate limit is exceeded.
        """
        return await self._turn(conversation_id, text, message_id, user_id, sink=None)

    async def stream_reply(
        self,
        conversation_id: str,
        text: str,
        message_id: str | None = None,
        *,
        user_id: str | None = None,
    ) -> AsyncIterator[ChatEvent]:
        """Like `reply`, as events: reply text as the model writes it, then ``done``.

        Errors are raised before the first event when the message is refused.
        """
        events: asyncio.Queue[ChatEvent | BaseException] = asyncio.Queue()
        sink = QueueSink(events)
        task = asyncio.ensure_future(
            self._turn(conversation_id, text, message_id, user_id, sink=sink)
        )
        task.add_done_callback(lambda done: events.put_nowait(outcome(done)))
        try:
            while True:
                event = await events.get()
                if isinstance(event, BaseException):
                    raise event
                if event.type == "done" and event.reply is not None:
                    # Whatever was not streamed (a holding message, a stored duplicate,
                    # an acknowledgement) or was replaced arrives here in full.
                    if sink.text != event.reply.reply:
                        if sink.text:
                            yield ChatEvent(type="reset")
                        yield ChatEvent(type="delta", text=event.reply.reply)
                    yield event
                    return
                yield event
        finally:
            if not task.done():
                task.cancel()

    async def conversation(
        self, conversation_id: str, *, user_id: str | None = None
    ) -> Conversation:
        """The conversation and its messages (redacted), as stored.

        Email-like ids (the conversation's, its owner's, message ids) appear as their
        pseudonyms; `conversation_id` and `user_id` may be given either way.

        Raises:
            NotFoundError: There is no such conversation, or it is another user's.
        """
        return await owned_conversation(self.store, conversation_id, user_id, ids=self.ids)

    # -- the person's side (delegated to the desk) ----------------------------------------

    async def queue(self) -> list[Conversation]:
        """Escalated conversations: waiting for a person, or with one (`HandoffDesk`)."""
        return await self.desk.queue()

    async def claim(self, conversation_id: str, agent: str) -> Conversation:
        """`agent` takes an escalated conversation (see `HandoffDesk.claim`)."""
        return await self.desk.claim(conversation_id, agent)

    async def human_reply(self, conversation_id: str, agent: str, text: str) -> StoredMessage:
        """A person's reply to the customer (see `HandoffDesk.reply`)."""
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        async with self._lock(stored_id):  # the lock the customer's turns take
            return await self.desk.reply(stored_id, agent, text)

    async def hand_back(self, conversation_id: str, agent: str) -> Conversation:
        """Return an escalated conversation to the bot (see `HandoffDesk.hand_back`)."""
        return await self.desk.hand_back(conversation_id, agent)

    async def send_draft(
        self, conversation_id: str, agent: str, text: str | None = None
    ) -> StoredMessage:
        """Send a held answer as it is, or `text` instead (see `HandoffDesk.send_draft`)."""
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        async with self._lock(stored_id):
            return await self.desk.send_draft(stored_id, agent, text)

    async def decide_approval(
        self, conversation_id: str, agent: str, *, approve: bool, note: str = ""
    ) -> ChatReply:
        """A person approves or declines the tool call the conversation waits on.

        The turn that asked resumes at once: approved, the call runs (once, with its
        idempotency key); declined, the model is told so. Its reply is stored and returned.

        Raises:
            NotFoundError: No such conversation.
            ConflictError: No call waits for approval in it, or another person has it.
        """
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        name = checked_name(agent)
        async with self._lock(stored_id), self.store.turn_lock(stored_id):
            with conversation_scope(stored_id):
                conversation = await self.conversation(stored_id)
                message_id, case_id = await self.desk.decide_approval(
                    conversation, name, approve=approve, note=note
                )
                resumed = upto(await self.conversation(stored_id), message_id)
                reply = await self.runner.answer(resumed, message_id, conversation.user_id, None)
                await self.desk.resolve(case_id)  # after the answer is stored, not before
                return reply

    async def replay(self, conversation_id: str, message_id: str | None = None) -> Replay:
        """Run a stored turn again as a dry run: what happened then beside what would now.

        Nothing acts and nothing is stored (see `TurnRunner.replay`). `message_id`
        defaults to the latest customer message.

        Raises:
            NotFoundError: No such conversation, or it has no such customer message.
        """
        conversation = await self.conversation(conversation_id)
        return await self.runner.replay(conversation, message_id)

    # -- one turn ------------------------------------------------------------------------

    async def _turn(
        self,
        conversation_id: str,
        text: str,
        message_id: str | None,
        user_id: str | None,
        *,
        sink: QueueSink | None,
    ) -> ChatReply:
        """The boundary of a customer's turn: ids in as stored, the reply out as given.

        Everything below sees only the stored form of the ids (`Pseudonyms`); the reply
        carries the caller's own ids back.
        """
        given_id = checked_id(conversation_id, "conversation_id")
        given_message = None if message_id is None else checked_id(message_id, "message_id")
        reply = await self._stored_turn(
            self.ids(given_id),
            text,
            self.ids(given_message),
            self.ids(user_id),
            sink=sink,
        )
        return replace(
            reply, conversation_id=given_id, message_id=given_message or reply.message_id
        )

    async def _stored_turn(
        self,
        conversation_id: str,
        text: str,
        message_id: str | None,
        user_id: str | None,
        *,
        sink: QueueSink | None,
    ) -> ChatReply:
        checked = checked_text(text, self.max_message_chars)
        # One turn per conversation at a time: in this process, then across processes.
        async with self._lock(conversation_id), self.store.turn_lock(conversation_id):
            with conversation_scope(conversation_id):  # log records name it (stored form)
                return await self._locked_turn(conversation_id, checked, message_id, user_id, sink)

    async def _locked_turn(
        self,
        conversation_id: str,
        checked: str,
        message_id: str | None,
        user_id: str | None,
        sink: QueueSink | None,
    ) -> ChatReply:
        """One turn, under the conversation's locks."""
        stored_conversation = await self.store.get(conversation_id)
        if stored_conversation is not None:
            check_owner(stored_conversation, user_id)
        # a new conversation is stored only once its first message is accepted
        conversation = stored_conversation or Conversation(id=conversation_id, user_id=user_id)
        if message_id is not None and conversation.has_message(message_id):
            stored = conversation.reply_to(message_id)
            if stored is not None:
                return replayed(conversation, message_id, stored)
            logger.info("answering stored message %s", message_id)
        else:
            await self.limiter.check(conversation_id, user_id)
            redacted = await self.redactor.redact(conversation, checked)
            message_id = message_id or uuid.uuid4().hex
            if stored_conversation is None:
                await self._create(conversation_id, user_id)
            await self.store.append(
                conversation_id, author="customer", content=redacted, message_id=message_id
            )
            await self.redactor.save(conversation_id)
            conversation = await self.conversation(conversation_id)
        if conversation.state != "bot":
            return await acknowledge(self.store, conversation, message_id)
        conversation = await self.runner.answer_earlier(conversation, message_id, user_id)
        if conversation.state != "bot":  # an earlier message's turn handed it to a person
            return await acknowledge(self.store, conversation, message_id)
        return await self.runner.answer(conversation, message_id, user_id, sink)

    async def _create(self, conversation_id: str, user_id: str | None) -> None:
        try:
            await self.store.create(conversation_id, user_id=user_id)
        except ConflictError:  # created by another process just now
            check_owner(await self.conversation(conversation_id), user_id)

    def _lock(self, conversation_id: str) -> asyncio.Lock:
        lock = self._locks.get(conversation_id)
        if lock is None:
            lock = self._locks[conversation_id] = asyncio.Lock()
        return lock
