"""The history a model sees: within a token budget, older turns folded into a summary."""

from __future__ import annotations

from collections.abc import Sequence

from pyagent_providers import Message, count_message_tokens

from ..base import Runnable
from .replies import ContextBudget
from .store import Conversation, ConversationStore, StoredMessage

__all__ = ["HistoryWindow", "with_summary"]

_COUNTING_MODEL = "openai:gpt-4o-mini"  # context budgets are estimates in its tokens
SUMMARY_REQUEST = (
    "Summarise this support conversation for the agent who continues it: the customer's "
    "issue, facts established, what was tried, and what is still open. Keep placeholders "
    "such as <EMAIL_ADDRESS_1> exactly as written."
)


class HistoryWindow:
    """Fits a conversation's history into `budget`, summarising what falls out.

    The summary is computed once, stored with the conversation and extended later, not
    recomputed every turn; without a summarizer the older turns are dropped.

    Args:
        store: Where the summary is kept.
        budget: Tokens for the history and how many latest messages stay verbatim.
        summarizer: Writes the summary (``None``: trim instead).
    """

    def __init__(
        self, store: ConversationStore, budget: ContextBudget, summarizer: Runnable | None
    ) -> None:
        self.store = store
        self.budget = budget
        self.summarizer = summarizer

    async def window(self, conversation: Conversation, *, save: bool = True) -> list[Message]:
        """The messages the model sees, within the context budget.

        ``save=False`` (a dry run) keeps a new summary out of the store.
        """
        budget = self.budget
        unsummarised = [m for m in conversation.messages if m.seq > conversation.summary_upto]
        messages = with_summary(conversation.summary, unsummarised)
        if count_message_tokens(messages, _COUNTING_MODEL) <= budget.max_tokens:
            return messages
        older = unsummarised[: -budget.keep_recent] if budget.keep_recent else unsummarised
        if not older:
            return messages
        summary = await self._summarise(conversation.summary, older)
        if save:
            await self.store.update(conversation.id, summary=summary, summary_upto=older[-1].seq)
        return with_summary(summary, unsummarised[len(older) :])

    async def _summarise(
        self, earlier: str | None, messages: Sequence[StoredMessage]
    ) -> str | None:
        if self.summarizer is None:
            return earlier  # trimmed: the older turns are dropped from the context
        transcript = "\n".join(f"{m.author}: {m.content}" for m in messages)
        if earlier:
            transcript = f"Summary so far: {earlier}\n{transcript}"
        result = await self.summarizer.run(
            [Message.system(SUMMARY_REQUEST), Message.user(transcript)]
        )
        return str(result.output)


def with_summary(summary: str | None, messages: Sequence[StoredMessage]) -> list[Message]:
    """The summary as a system line, then the messages as model messages."""
    prefix = [Message.system(f"Summary of the conversation so far: {summary}")] if summary else []
    return prefix + [m.to_message() for m in messages]
