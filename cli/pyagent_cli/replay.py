"""``pyagent replay``: run a stored turn again as a dry run, and show then beside now.

``then`` is what the turn did (the stored reply, its route, tier and the audit trail's
decisions and tool calls); ``now`` is what the recipe's system decides today for the same
history (`ChatHandler.replay`): no tool with a side effect runs, no case is opened and
nothing is stored, but the models are really called (and metered). Use it to check a
case before acting on it, or to see how a change of model, prompt or policy would have
answered::

    pyagent replay c-42                 # the latest customer message
    pyagent replay ESC-000123 --json    # the turn a case is about
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
from collections.abc import Mapping, Sequence
from itertools import zip_longest
from typing import Any, TextIO

from pyagent_patterns.actions import AuditEvent
from pyagent_patterns.chat import ConversationStore, Replay, close_store
from pyagent_patterns.chat.turns import escalates
from pyagent_providers import NotFoundError

from .audit import existing_store
from .recipes import DEFAULT_RECIPE, load_recipe

__all__ = ["replay_as_dict", "replay_command", "replay_text"]

CASE_ID = re.compile(r"^ESC-\d+$")
LABEL_WIDTH = 12


async def replay_command(
    conversation: str,
    *,
    message_id: str | None,
    store: str | None,
    as_json: bool,
    classification: str = "auto",
    recipe: str = DEFAULT_RECIPE,
    out: TextIO | None = None,
) -> int:
    """Replay `conversation`'s turn (or a case's: ``ESC-…``); returns the exit code."""
    writer = out or sys.stdout
    # what to replay is settled before any model loads
    conversations = existing_store(store)
    try:  # a PostgreSQL store is closed before the event loop ends
        if CASE_ID.match(conversation):
            case = await conversations.escalations.get(conversation)
            if case is None or case.conversation_id is None:
                raise NotFoundError(f"no case {conversation!r} with a conversation")
            conversation = case.conversation_id
            message_id = message_id or case.metadata.get("message_id")
    finally:
        await close_store(conversations)
    loaded = load_recipe(recipe, "replay")
    handler = loaded.chat_handler(store, classification=loaded.classification(classification))
    try:
        replay = await handler.replay(conversation, message_id)
        draft = await _held_draft(handler.store, replay)
    finally:
        await close_store(handler.store)
    if as_json:
        writer.write(json.dumps(replay_as_dict(replay, draft=draft), indent=2, default=str) + "\n")
    else:
        writer.write(replay_text(replay, draft=draft, width=shutil.get_terminal_size().columns))
    return 0


async def _held_draft(store: ConversationStore, replay: Replay) -> str | None:
    """The answer the turn held for a person (the customer got a notice instead)."""
    then = replay.then
    if then is None or not then.metadata.get("held") or not then.metadata.get("ticket_id"):
        return None
    case = await store.escalations.get(str(then.metadata["ticket_id"]))
    return None if case is None else case.metadata.get("draft")


def replay_as_dict(replay: Replay, *, draft: str | None = None) -> dict[str, Any]:
    """Then and now, JSON-ready; `draft` is the answer the turn held, if it held one."""
    then, record = replay.then, replay.now.record
    decision = _decision(replay.then_events)
    meta: Mapping[str, Any] = then.metadata if then is not None else {}
    return {
        "conversation_id": replay.conversation_id,
        "message_id": replay.message_id,
        "then": {
            "reply": None if then is None else then.content,
            "author": None if then is None else then.author,
            "draft": draft,
            "route": meta.get("route"),
            "tier": meta.get("tier"),
            "escalated": decision.get("escalated", meta.get("tier") == "human"),
            "held_because": list(meta.get("held") or []),
            "confidence": meta.get("confidence"),
            "model": meta.get("model"),
            "tool_calls": [
                {key: e.data.get(key) for key in ("tool", "verdict", "outcome", "arguments")}
                for e in replay.then_events
                if e.kind == "tool_call"
            ],
            "events": [event.as_dict() for event in replay.then_events],
        },
        "now": {
            "reply": str(replay.now.output),
            "route": record.route,
            "tier": record.tier,
            "escalated": escalates(record),
            "held": bool(replay.held_now),
            "held_because": list(replay.held_now),
            "confidence": record.confidence,
            "model": record.model,
            "tool_calls": [
                {"tool": call.name, "outcome": call.outcome, "ok": call.ok, "result": call.content}
                for call in record.tool_calls
            ],
        },
    }


def replay_text(replay: Replay, *, draft: str | None = None, width: int = 100) -> str:
    """Then beside now, one row per field, long values wrapped in their column."""
    data = replay_as_dict(replay, draft=draft)
    then, now = data["then"], data["now"]
    rows = [
        ("reply", then["reply"] or "(never answered)", now["reply"]),
        *([("held draft", draft, "")] if draft is not None else []),
        ("route", then["route"], now["route"]),
        ("tier", then["tier"], now["tier"]),
        ("escalated", then["escalated"], now["escalated"]),
        ("confidence", then["confidence"], now["confidence"]),
        ("model", then["model"], now["model"]),
        ("held", _held(then["held_because"]), _held(now["held_because"])),
        (
            "tool calls",
            "; ".join(f"{c['tool']} {c['verdict']} → {c['outcome']}" for c in then["tool_calls"]),
            "; ".join(f"{c['tool']} → {c['outcome']}" for c in now["tool_calls"]),
        ),
    ]
    column = max(20, (width - LABEL_WIDTH - 3) // 2)
    lines = [
        f"Replay of {replay.conversation_id}, message {replay.message_id} "
        "(dry run: nothing was sent, run or stored)",
        f"{'':<{LABEL_WIDTH}} {'THEN':<{column}}  NOW",
    ]
    for label, before, after in rows:
        left, right = _wrapped(before, column), _wrapped(after, column)
        for n, (a, b) in enumerate(zip_longest(left, right, fillvalue="")):
            lines.append(f"{label if n == 0 else '':<{LABEL_WIDTH}} {a:<{column}}  {b}".rstrip())
    return "\n".join(lines) + "\n"


def _decision(events: Sequence[AuditEvent]) -> dict[str, Any]:
    """The data of the turn's latest decision event (a resumed turn decides twice)."""
    decisions = [event for event in events if event.kind == "decision"]
    return dict(decisions[-1].data) if decisions else {}


def _held(reasons: Sequence[str]) -> str:
    return "no" if not reasons else "yes: " + "; ".join(reasons)


def _wrapped(value: Any, width: int) -> list[str]:
    if value is None or value == "":
        return ["-"]
    if isinstance(value, bool):
        return ["yes" if value else "no"]
    if isinstance(value, float):
        return [f"{value:.2f}"]
    lines: list[str] = []
    for paragraph in str(value).splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, width) or [""])
    return lines
