"""Redaction of stored chat text, with placeholders that persist per conversation."""

from __future__ import annotations

from collections.abc import Collection

from pyagent_guardrails import GuardrailChain, PlaceholderMap
from pyagent_providers import UserError

from .store import Conversation, ConversationStore

__all__ = ["Redactor"]


class Redactor:
    """Runs the input guards on a conversation's text and saves its placeholder map.

    Before each check the conversation's stored map is loaded into `placeholders` (the
    map the guard's `PIIGuard` uses); `save` writes it back once the text is stored, so
    the same email keeps the same placeholder across turns, processes and restarts.

    Args:
        store: Where the map is kept.
        guard: The guards; without them text is stored as given.
        placeholders: The guard's placeholder map (without it, numbering restarts per
            process).
    """

    def __init__(
        self,
        store: ConversationStore,
        guard: GuardrailChain | None,
        placeholders: PlaceholderMap | None,
    ) -> None:
        self.store = store
        self.guard = guard
        self.placeholders = placeholders

    async def redact(
        self, conversation: Conversation, text: str, *, allow: Collection[str] = ()
    ) -> str:
        """`text` as it may be stored and shown to models.

        `allow` names values the PII guard leaves readable (the writer's own name, for a
        person's reply); all other personal data is redacted as usual.

        Raises:
            UserError: A guard refused the text (its message says why, without quoting it).
        """
        if self.guard is None:
            return text
        if self.placeholders is not None:
            self.placeholders.load(conversation.id, conversation.placeholders)
        check = await self.guard.acheck(text, conversation_id=conversation.id, allow=allow)
        if not check.passed or check.sanitized_content is None:
            raise UserError(check.message or "the message was refused")
        return check.sanitized_content

    async def scrub(self, conversation_id: str, text: str) -> str:
        """`text` (a tool argument, a held draft) redacted for the audit trail or the queue.

        It uses the conversation's current placeholders and never raises. Unlike `redact`
        it does not reload the stored map (the turn's own placeholders stay), and a text
        the guards refuse is recorded as ``[withheld]``.
        """
        if self.guard is None:
            return text
        check = await self.guard.acheck(text, conversation_id=conversation_id)
        return check.sanitized_content if check.passed and check.sanitized_content else "[withheld]"

    async def save(self, conversation_id: str) -> None:
        """Store the conversation's placeholder map (after its redacted text is stored).

        Called under the conversation's turn lock, after `redact` loaded the stored map:
        the map written back extends what any process stored before, never replaces it.
        """
        if self.guard is not None and self.placeholders is not None:
            await self.store.update(
                conversation_id, placeholders=self.placeholders.export(conversation_id)
            )
