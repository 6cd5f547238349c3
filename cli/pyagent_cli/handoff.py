"""``pyagent queue``: the person's side of escalated conversations, from the terminal.

Works on the same conversation store as ``pyagent serve`` (SQLite handles both
processes), without loading the support system's models: only the PII guard, so the
person's replies are redacted like everything else that is stored.
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import TextIO

from pyagent_guardrails import GuardrailChain, PIIGuard, PlaceholderMap
from pyagent_patterns.chat import HandoffDesk, Redactor, SQLiteConversationStore
from pyagent_patterns.chat.validation import owned_conversation
from pyagent_providers import UserError

__all__ = ["queue_command"]


def desk(store: str | None, *, redacting: bool = True) -> HandoffDesk:
    """A desk on `store` with the store's persistent placeholder salt.

    Only a reply stores text, so only a reply needs the PII guard (spaCy and Presidio
    take seconds to load): `list`, `show`, `claim` and `hand-back` answer at once.
    """
    conversations = SQLiteConversationStore(store)
    if not redacting:
        return HandoffDesk(conversations, Redactor(conversations, None, None))
    placeholders = PlaceholderMap(salt=conversations.secret())
    guard = GuardrailChain([PIIGuard(redact=True, placeholders=placeholders)])
    return HandoffDesk(conversations, Redactor(conversations, guard, placeholders))


async def queue_command(
    action: str,
    conversation_id: str | None,
    text: str | None,
    *,
    store: str | None,
    agent: str | None,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    """Run one queue action (list, show, claim, reply, hand-back); returns the exit code."""
    writer = out or sys.stdout
    person = agent or getpass.getuser()
    people = desk(store, redacting=action == "reply")
    if action == "list":
        waiting = [c.as_dict(with_messages=False) for c in await people.queue()]
        if as_json:
            writer.write(json.dumps(waiting, indent=2) + "\n")
            return 0
        for item in waiting:
            writer.write(
                f"{item['id']}  {item['state']:<17} {item['ticket_id'] or '-':<11} "
                f"{item['agent'] or '-':<12} updated {item['updated_at']}\n"
            )
        return 0
    if conversation_id is None:
        raise UserError(f"queue {action} needs a conversation id")
    if action == "show":
        conversation = await owned_conversation(people.store, conversation_id, None)
        if as_json:
            writer.write(json.dumps(conversation.as_dict(), indent=2) + "\n")
            return 0
        for message in conversation.messages:
            who = message.name or message.author
            writer.write(f"[{message.seq}] {who}: {message.content}\n")
        return 0
    if action == "claim":
        conversation = await people.claim(conversation_id, person)
    elif action == "reply":
        if not text:
            raise UserError("queue reply needs the reply text")
        await people.reply(conversation_id, person, text)
        conversation = await owned_conversation(people.store, conversation_id, None)
    else:  # hand-back
        conversation = await people.hand_back(conversation_id, person)
    state = conversation.state if conversation else "-"
    writer.write(f"{conversation_id}: {action} done by {person}; state {state}\n")
    return 0
