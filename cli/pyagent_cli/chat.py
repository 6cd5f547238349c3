"""``pyagent chat``: a conversation with the support system in the terminal.

The same `ChatHandler` the server embeds, so history, PII placeholders and
escalations behave as they do over HTTP (and persist in the same store). After each
reply a status line shows the route, tier, model and cost of the turn.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from decimal import Decimal
from typing import TextIO

from pyagent_patterns.chat import ChatReply
from pyagent_providers import UserError
from pyagent_router import collect_calls

from .recipes import DEFAULT_RECIPE, load_recipe

__all__ = ["chat_command"]

QUIT = {"/quit", "/exit"}


async def chat_command(
    *,
    store: str | None,
    conversation_id: str | None,
    classification: str,
    recipe: str = DEFAULT_RECIPE,
    stdin: TextIO | None = None,
    out: TextIO | None = None,
) -> int:
    """Read messages line by line until EOF or ``/quit``; stream each reply of `recipe`."""
    reader, writer = stdin or sys.stdin, out or sys.stdout
    loaded = load_recipe(recipe, "chat")
    handler = loaded.chat_handler(store, classification=loaded.classification(classification))
    conversation_id = conversation_id or f"cli-{uuid.uuid4().hex[:10]}"
    writer.write(f"Conversation {conversation_id}. Type a message; /quit to leave.\n")
    while True:
        writer.write("you> ")
        writer.flush()
        line = await asyncio.to_thread(reader.readline)
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
                    writer.flush()
        except UserError as error:
            writer.write(f"\n     [not sent: {error}]\n")


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
