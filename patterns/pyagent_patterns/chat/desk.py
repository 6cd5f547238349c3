"""`HandoffDesk`: the person's side of escalated conversations.

Besides claiming, answering and handing back, a person decides what the bot could not:
a held draft is sent as it is, edited or replaced (`send_draft`), and a tool call that
waits for approval is approved or declined (`decide_approval`; the chat handler then
resumes the turn). Every action is an audit event.
"""

from __future__ import annotations

from typing import Any

from pyagent_providers import ConflictError

from ..actions import AuditEvent
from ..escalations import Escalation
from .pseudonyms import Pseudonyms
from .redaction import Redactor
from .store import Conversation, ConversationStore, StoredMessage
from .validation import checked_id, checked_name, checked_text, owned_conversation

__all__ = ["HandoffDesk"]


class HandoffDesk:
    """List, claim, answer and hand back escalated conversations.

    `ChatHandler` serves customers and delegates its queue methods here; a process that
    only serves people (``pyagent queue``) uses a desk on the same store directly.

    Conversation ids are taken as the queue shows them (the stored form) or as the
    customer gave them: an email-like id is turned into its pseudonym first (`Pseudonyms`),
    so either way the same conversation is found, and errors name only the stored form.

    Args:
        store: The conversations.
        redactor: Redacts the person's replies like every stored text.
        max_message_chars: Longest reply accepted.
        ids: The store's `Pseudonyms`; built from ``store.secret()`` when ``None``.
    """

    def __init__(
        self,
        store: ConversationStore,
        redactor: Redactor,
        *,
        max_message_chars: int = 8_000,
        ids: Pseudonyms | None = None,
    ) -> None:
        self.store = store
        self.redactor = redactor
        self.max_message_chars = max_message_chars
        self.ids = ids or Pseudonyms(store.secret())

    async def queue(self) -> list[Conversation]:
        """Escalated conversations, waiting for a person or with one, oldest first."""
        return await self.store.in_states(("waiting_for_human", "with_human"))

    async def claim(self, conversation_id: str, agent: str) -> Conversation:
        """`agent` takes an escalated conversation.

        Raises:
            NotFoundError: No such conversation.
            ConflictError: It is not escalated, or another person has it.
        """
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        async with self.store.turn_lock(stored_id):  # one change at a time, any process
            return await self._claim(stored_id, checked_name(agent))

    async def _claim(self, stored_id: str, agent: str) -> Conversation:
        conversation = await owned_conversation(self.store, stored_id, None, ids=self.ids)
        if conversation.state == "bot":
            raise ConflictError(f"conversation {conversation.id!r} is not in the human queue")
        if conversation.state == "with_human" and conversation.agent != agent:
            raise ConflictError(f"{conversation.agent} already has {conversation.id!r}")
        if conversation.state == "waiting_for_human":
            await self.store.escalations.set_status(_case(conversation), "claimed", agent=agent)
            await self._audit(conversation, agent, "claim")
        return await owned_conversation(self.store, stored_id, None, ids=self.ids)

    async def reply(self, conversation_id: str, agent: str, text: str) -> StoredMessage:
        """A person's reply to the customer; claims the conversation if nobody has it.

        The reply is redacted like every stored text, except the person's own name
        (`agent`, or a part of it): "Hi, Dana here" stays readable when Dana writes it.

        Raises:
            NotFoundError: No such conversation.
            ConflictError: It is not escalated, or another person has it.
            UserError: The text is empty, too long or refused by the guards.
        """
        checked = checked_text(text, self.max_message_chars)
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        name = checked_name(agent)
        async with self.store.turn_lock(stored_id):
            conversation = await self._claim(stored_id, name)
            redacted = await self.redactor.redact(conversation, checked, allow=(name,))
            message = await self.store.append(
                conversation.id, author="human", name=conversation.agent, content=redacted
            )
            await self.redactor.save(conversation.id)
            await self._audit(conversation, name, "reply", message_seq=message.seq)
        return message

    async def hand_back(self, conversation_id: str, agent: str) -> Conversation:
        """Resolve the case and return the conversation to the bot (its tier hold restarts).

        Raises:
            NotFoundError: No such conversation.
            ConflictError: It is not escalated, or another person has it.
        """
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        async with self.store.turn_lock(stored_id):
            name = checked_name(agent)
            conversation = await self._claim(stored_id, name)
            await self.store.escalations.set_status(_case(conversation), "resolved")
            await self._audit(conversation, name, "hand_back")
            return await self.store.update(conversation.id, tier=None)

    async def send_draft(
        self, conversation_id: str, agent: str, text: str | None = None
    ) -> StoredMessage:
        """Send the bot's held answer: as it is (`text` ``None``), or `text` instead.

        The case is resolved and the conversation returns to the bot.

        Raises:
            NotFoundError: No such conversation.
            ConflictError: No draft waits in it, or another person has it.
            UserError: `text` is empty, too long or refused by the guards.
        """
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        name = checked_name(agent)
        checked = None if text is None else checked_text(text, self.max_message_chars)
        async with self.store.turn_lock(stored_id):
            waiting = await owned_conversation(self.store, stored_id, None, ids=self.ids)
            case = await self._waiting_case(waiting, "draft")  # before claiming anything
            conversation = await self._claim(stored_id, name)
            sent = next(
                (m for m in conversation.messages if m.metadata.get("draft_case") == case.id), None
            )
            if sent is not None:  # sent before a crash left the case open: close it only
                await self.store.escalations.set_status(case.id, "resolved")
                return sent
            if checked is None:
                content = str(case.metadata["draft"])
            else:
                content = await self.redactor.redact(conversation, checked, allow=(name,))
            message = await self.store.append(
                conversation.id,
                author="bot" if checked is None else "human",
                name=name,
                content=content,
                in_reply_to=case.metadata.get("message_id"),
                metadata={
                    "draft_case": case.id,
                    "approved_by": name,
                    "edited": checked is not None,
                },
            )
            await self.redactor.save(conversation.id)
            await self.store.escalations.set_status(case.id, "resolved")
            action = "draft_sent" if checked is None else "draft_replaced"
            await self._audit(conversation, name, action, case_id=case.id)
        return message

    async def decide_approval(
        self, conversation: Conversation, agent: str, *, approve: bool, note: str = ""
    ) -> tuple[str, str]:
        """Approve or decline the call `conversation` waits on.

        Returns the message id of the turn that made the call and the approval's case.
        The chat handler resumes that turn, then resolves the case (`resolve`): a crash in
        between leaves the case open, and deciding again (the same way) resumes again,
        with the call's stored outcome. Called under the conversation's turn lock
        (`ChatHandler.decide_approval`).

        Raises:
            ConflictError: No call waits for approval in it, or another person has it.
        """
        if conversation.state == "with_human" and conversation.agent != agent:
            raise ConflictError(f"{conversation.agent} already has {conversation.id!r}")
        case = await self._waiting_case(conversation, "approval")
        shown = await self.redactor.scrub(conversation.id, note) if note else ""
        record = await self.store.actions.decide(
            str(case.metadata["approval"]), approved=approve, by=agent, note=shown
        )
        action = "approved" if approve else "declined"
        await self._audit(
            conversation, agent, action, case_id=case.id, tool=record.tool, note=shown
        )
        assert record.message_id is not None, "a turn's call names its message"
        return record.message_id, case.id

    async def resolve(self, case_id: str) -> None:
        """Close a case whose turn has been resumed and answered."""
        await self.store.escalations.set_status(case_id, "resolved")

    async def _waiting_case(self, conversation: Conversation, kind: str) -> Escalation:
        case = None
        if conversation.state != "bot":
            case = await self.store.escalations.get(_case(conversation))
        if case is None or kind not in case.metadata:
            what = "draft" if kind == "draft" else "tool call awaiting approval"
            raise ConflictError(f"conversation {conversation.id!r} has no {what}")
        return case

    async def _audit(
        self, conversation: Conversation, agent: str, action: str, **details: Any
    ) -> None:
        await self.store.audit.record(
            AuditEvent(
                kind="human_action",
                conversation_id=conversation.id,
                actor=agent,
                data={"action": action, "case_id": conversation.ticket_id, **details},
            )
        )


def _case(conversation: Conversation) -> str:
    # An escalated conversation always points at its case (the state is read from it).
    assert conversation.ticket_id is not None, "an escalated conversation has a case"
    return conversation.ticket_id
