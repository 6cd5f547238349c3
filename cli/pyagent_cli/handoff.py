"""``pyagent queue``: the person's side of escalated conversations, from the terminal.

Works on the same conversation store as ``pyagent serve`` (`open_store`: SQLite or
PostgreSQL, both shared safely by processes). Most actions do not load the support
system's models: only the PII guard, so the person's replies are redacted like
everything else that is stored. ``approve`` and ``decline`` resume the turn that waits
on a tool call, so they build the recipe's chat handler (as ``pyagent chat`` does) and
print the resumed reply.

A case is one of three kinds, shown by ``list`` and ``show``: ``draft`` (the bot's answer
waits for a person to ``send`` it as it is or ``edit`` it), ``approval`` (a tool call
waits to be approved or declined) or ``escalation`` (the conversation needs a person).
"""

from __future__ import annotations

import getpass
import json
import sys
from typing import Any, TextIO

from pyagent_guardrails import GuardrailChain, PIIGuard, PlaceholderMap
from pyagent_patterns.chat import (
    ChatReply,
    Conversation,
    HandoffDesk,
    Redactor,
    close_store,
    open_store,
)
from pyagent_patterns.chat.validation import owned_conversation
from pyagent_patterns.escalations import Escalation
from pyagent_providers import ConflictError, UserError

from .recipes import DEFAULT_RECIPE, load_recipe

__all__ = ["ACTIONS", "case_kind", "desk", "queue_command"]

ACTIONS = ("list", "show", "claim", "reply", "hand-back", "send", "edit", "approve", "decline")
KIND_LABELS = {
    "draft": "draft waiting",
    "approval": "approval waiting",
    "escalation": "escalation",
}
_REDACTING = frozenset({"reply", "edit"})  # the actions that store a person's text


def desk(store: str | None, *, redacting: bool = True) -> HandoffDesk:
    """A desk on `store` with the store's persistent placeholder salt.

    Only a reply stores text, so only a reply needs the PII guard (spaCy and Presidio
    take seconds to load): `list`, `show`, `claim` and `hand-back` answer at once.
    """
    conversations = open_store(store)
    if not redacting:
        return HandoffDesk(conversations, Redactor(conversations, None, None))
    placeholders = PlaceholderMap(salt=conversations.secret())
    guard = GuardrailChain([PIIGuard(redact=True, placeholders=placeholders)])
    return HandoffDesk(conversations, Redactor(conversations, guard, placeholders))


def case_kind(case: Escalation | None) -> str:
    """``draft``, ``approval`` or ``escalation``: what the case waits for."""
    if case is not None and "draft" in case.metadata:
        return "draft"
    if case is not None and "approval" in case.metadata:
        return "approval"
    return "escalation"


async def queue_command(
    action: str,
    conversation_id: str | None,
    text: str | None,
    *,
    store: str | None,
    agent: str | None,
    as_json: bool,
    note: str = "",
    recipe: str = DEFAULT_RECIPE,
    classification: str = "auto",
    out: TextIO | None = None,
) -> int:
    """Run one queue action (see `ACTIONS`); returns the exit code."""
    writer = out or sys.stdout
    person = agent or getpass.getuser()
    if action != "list" and conversation_id is None:
        raise UserError(f"queue {action} needs a conversation id")
    if action in ("reply", "edit") and not text:
        raise UserError(f"queue {action} needs the text to send")
    if action in ("approve", "decline"):
        assert conversation_id is not None
        reply = await _decide(
            conversation_id,
            person,
            approve=action == "approve",
            note=note,
            store=store,
            recipe=recipe,
            classification=classification,
        )
        writer.write(
            json.dumps(reply.as_dict(), indent=2) + "\n" if as_json else _reply_text(reply, action)
        )
        return 0
    people = desk(store, redacting=action in _REDACTING)
    try:  # a PostgreSQL store is closed before the event loop ends
        if action == "list":
            return await _list(people, writer, as_json=as_json)
        assert conversation_id is not None
        if action == "show":
            return await _show(people, conversation_id, writer, as_json=as_json)
        if action == "claim":
            conversation = await people.claim(conversation_id, person)
        elif action in ("reply", "send", "edit"):
            if action == "reply":
                message = await people.reply(conversation_id, person, text or "")
            else:
                message = await people.send_draft(conversation_id, person, text)
            if as_json:
                writer.write(json.dumps(message.as_dict(), indent=2) + "\n")
                return 0
            conversation = await owned_conversation(people.store, conversation_id, None)
        else:  # hand-back
            conversation = await people.hand_back(conversation_id, person)
        writer.write(f"{conversation_id}: {action} done by {person}; state {conversation.state}\n")
        return 0
    finally:
        await close_store(people.store)


async def _decide(
    conversation_id: str,
    person: str,
    *,
    approve: bool,
    note: str,
    store: str | None,
    recipe: str,
    classification: str,
) -> ChatReply:
    """Approve or decline the waiting tool call with the recipe's handler (the turn resumes)."""
    # Refuse a conversation with nothing to approve before loading any model.
    people = desk(store, redacting=False)
    try:
        conversation = await owned_conversation(people.store, conversation_id, None, ids=people.ids)
        if case_kind(await _case(people, conversation)) != "approval":
            raise ConflictError(
                f"conversation {conversation.id!r} has no tool call awaiting approval"
            )
    finally:
        await close_store(people.store)
    loaded = load_recipe(recipe, f"queue {'approve' if approve else 'decline'}")
    handler = loaded.chat_handler(store, classification=loaded.classification(classification))
    try:
        return await handler.decide_approval(conversation_id, person, approve=approve, note=note)
    finally:
        await close_store(handler.store)


async def _case(people: HandoffDesk, conversation: Conversation) -> Escalation | None:
    if conversation.state == "bot" or conversation.ticket_id is None:
        return None
    return await people.store.escalations.get(conversation.ticket_id)


async def _list(people: HandoffDesk, writer: TextIO, *, as_json: bool) -> int:
    waiting: list[dict[str, Any]] = []
    for conversation in await people.queue():
        item = conversation.as_dict(with_messages=False)
        item["kind"] = case_kind(await _case(people, conversation))
        waiting.append(item)
    if as_json:
        writer.write(json.dumps(waiting, indent=2) + "\n")
        return 0
    for item in waiting:
        writer.write(
            f"{item['id']}  {item['state']:<17} {item['ticket_id'] or '-':<11} "
            f"{KIND_LABELS[item['kind']]:<16} {item['agent'] or '-':<12} "
            f"updated {item['updated_at']}\n"
        )
    return 0


async def _show(people: HandoffDesk, conversation_id: str, writer: TextIO, *, as_json: bool) -> int:
    conversation = await owned_conversation(people.store, conversation_id, None, ids=people.ids)
    case = await _case(people, conversation)
    kind = case_kind(case)
    if as_json:
        shown = conversation.as_dict()
        shown["case"] = None if case is None else _case_dict(case, kind)
        writer.write(json.dumps(shown, indent=2) + "\n")
        return 0
    for message in conversation.messages:
        who = message.name or message.author
        writer.write(f"[{message.seq}] {who}: {message.content}\n")
    if case is not None:
        writer.write(f"-- case {case.id} ({KIND_LABELS[kind]}, {case.status}): {case.summary}\n")
        if kind == "draft":
            writer.write(f"-- draft: {case.metadata['draft']}\n")
            writer.write("-- `queue send` sends it as it is; `queue edit ID TEXT` sends TEXT\n")
        elif kind == "approval":
            writer.write("-- `queue approve` or `queue decline [--note WHY]` resumes the turn\n")
    return 0


def _case_dict(case: Escalation, kind: str) -> dict[str, Any]:
    return {
        "id": case.id,
        "kind": kind,
        "status": case.status,
        "priority": case.priority,
        "reason": case.reason,
        "summary": case.summary,
        "agent": case.agent,
        "draft": case.metadata.get("draft"),
        "held_because": case.metadata.get("held_because"),
        "tool": case.metadata.get("tool"),
        "arguments": case.metadata.get("arguments"),
    }


def _reply_text(reply: ChatReply, action: str) -> str:
    status = f"state {reply.state}"
    if reply.escalated and reply.ticket_id:
        status += f", with a person: {reply.ticket_id}"
    return f"{reply.conversation_id}: {action}d; the turn resumed ({status})\nbot> {reply.reply}\n"
