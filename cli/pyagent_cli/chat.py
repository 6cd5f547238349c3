"""``pyagent chat``: a conversation with the support system in the terminal.

The same `ChatHandler` the server embeds, so history, PII placeholders and
escalations behave as they do over HTTP (and persist in the same store). After each
reply a status line shows the route, tier, model and cost of the turn.

Once a person has the conversation (``pyagent queue``, or the server's queue), their
replies are shown as they arrive: before each prompt, and while the prompt waits (the
conversation is read again every `POLL_SECONDS`). Continuing a conversation
(``--conversation``) first shows what a person wrote since the customer's last message.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from decimal import Decimal
from typing import TextIO

from pyagent_patterns import ChatHandler
from pyagent_patterns.chat import ChatReply, close_store
from pyagent_providers import NotFoundError, UserError
from pyagent_providers.telemetry import configure_tracing
from pyagent_router import collect_calls

from .recipes import DEFAULT_RECIPE, load_recipe

__all__ = ["POLL_SECONDS", "chat_command"]

QUIT = {"/quit", "/exit"}
POLL_SECONDS = 2.0


async def chat_command(
    *,
    store: str | None,
    conversation_id: str | None,
    classification: str,
    recipe: str = DEFAULT_RECIPE,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
    poll_seconds: float = POLL_SECONDS,
) -> int:
    """Read messages line by line until EOF or ``/quit``; stream each reply of `recipe`."""
    reader, writer = stdin or sys.stdin, out or sys.stdout
    configure_tracing()  # OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_TRACES_EXPORTER turn traces on
    loaded = load_recipe(recipe, "chat")
    handler = loaded.chat_handler(store, classification=loaded.classification(classification))
    try:
        return await _converse(handler, conversation_id, reader, writer, poll_seconds)
    finally:
        await close_store(handler.store)  # a PostgreSQL pool must close before the loop


async def _converse(
    handler: ChatHandler,
    conversation_id: str | None,
    reader: TextIO,
    writer: TextIO,
    poll_seconds: float,
) -> int:
    conversation_id = conversation_id or f"cli-{uuid.uuid4().hex[:10]}"
    writer.write(f"Conversation {conversation_id}. Type a message; /quit to leave.\n")
    person = PersonReplies(handler, conversation_id, writer)
    await person.start()
    while True:
        await person.show_new()
        writer.write("you> ")
        writer.flush()
        line = await _read_line(reader, person, writer, poll_seconds)
        if not line or line.strip() in QUIT:
            writer.write("\n")
            return 0
        if not line.strip():
            continue
        writer.write("bot> ")
        try:
            with collect_calls() as calls:
                async for event in handler.stream_reply(conversation_id, line.rstrip("\n")):
                    if event.type == "delta":
                        writer.write(event.text)
                    elif event.type == "reset":
                        writer.write("\n     [the reply starts again]\n     ")
                    elif event.reply is not None:
                        estimate = sum((c.cost for c in calls if c.estimated), Decimal(0))
                        writer.write("\n" + _status(event.reply, estimate) + "\n")
                        person.with_person = person.with_person or event.reply.escalated
                    writer.flush()
        except UserError as error:
            writer.write(f"\n     [not sent: {error}]\n")


class PersonReplies:
    """Shows the replies a person (author ``human``) stored in the conversation.

    Each message is shown once: those stored after the last one this session saw, and, at
    the start, those since the customer's last message.
    """

    def __init__(self, handler: ChatHandler, conversation_id: str, writer: TextIO) -> None:
        self.handler = handler
        self.conversation_id = conversation_id
        self.writer = writer
        self.seen = 0  # the highest message seq already accounted for
        self.with_person = False  # whether a person has (or awaits) the conversation

    async def start(self) -> None:
        """Skip what came before the customer's last message (it was seen then)."""
        try:
            conversation = await self.handler.conversation(self.conversation_id)
        except NotFoundError:
            return
        customer = [m.seq for m in conversation.messages if m.author == "customer"]
        self.seen = max(customer, default=0)
        self.with_person = conversation.state != "bot"

    async def show_new(self, *, before: str = "") -> bool:
        """Write the person's new replies (after `before`); whether there were any."""
        try:
            conversation = await self.handler.conversation(self.conversation_id)
        except NotFoundError:
            return False
        new = [m for m in conversation.messages if m.author == "human" and m.seq > self.seen]
        if conversation.messages:
            self.seen = max(self.seen, conversation.messages[-1].seq)
        self.with_person = conversation.state != "bot"
        if new:
            self.writer.write(before)
            for message in new:
                self.writer.write(f"{message.name or 'our team'} (person)> {message.content}\n")
            self.writer.flush()
        return bool(new)


async def _read_line(
    reader: TextIO, person: PersonReplies, writer: TextIO, poll_seconds: float
) -> str:
    """The next input line; while a person has the conversation, their replies meanwhile."""
    line = asyncio.ensure_future(asyncio.to_thread(reader.readline))
    while True:
        timeout = poll_seconds if person.with_person else None
        done, _ = await asyncio.wait({line}, timeout=timeout)
        if done:
            return line.result()
        if await person.show_new(before="\n"):
            writer.write("you> ")
            writer.flush()


def _status(reply: ChatReply, estimated_online_cost: Decimal) -> str:
    parts = [f"route {reply.route or '-'}", f"tier {reply.tier or '-'}"]
    if reply.tier_reason:
        parts[-1] += f" ({reply.tier_reason})"
    parts.append(f"model {reply.model or '-'}")
    cost = f"cost ${reply.cost}"
    if estimated_online_cost:
        cost += f" (≈ ${estimated_online_cost:.5f} online, estimated)"
    parts.append(cost)
    if reply.escalated:
        parts.append(f"with a person: {reply.ticket_id}")
    return "     [" + " · ".join(parts) + "]"
