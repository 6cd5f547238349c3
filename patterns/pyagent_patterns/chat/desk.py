"""`HandoffDesk`: the person's side of escalated conversations."""

from __future__ import annotations

from pyagent_providers import ConflictError

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
        await self.store.escalations.set_status(_case(conversation), "claimed", agent=agent)
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
        return message

    async def hand_back(self, conversation_id: str, agent: str) -> Conversation:
        """Resolve the case and return the conversation to the bot (its tier hold restarts).

        Raises:
            NotFoundError: No such conversation.
            ConflictError: It is not escalated, or another person has it.
        """
        stored_id = self.ids(checked_id(conversation_id, "conversation_id"))
        async with self.store.turn_lock(stored_id):
            conversation = await self._claim(stored_id, checked_name(agent))
            await self.store.escalations.set_status(_case(conversation), "resolved")
            return await self.store.update(conversation.id, tier=None)


def _case(conversation: Conversation) -> str:
    # An escalated conversation always points at its case (the state is read from it).
    assert conversation.ticket_id is not None, "an escalated conversation has a case"
    return conversation.ticket_id
