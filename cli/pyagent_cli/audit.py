"""``pyagent audit``: the audit trail of a conversation store, from the terminal.

Every decision, tool call, sent or held reply and person's action the chat handler
recorded (`pyagent_patterns.actions.audit`), filtered like ``GET /v1/audit``::

    pyagent audit --conversation c-42 --since 7d --where "confidence<0.9" --kind decision

Events hold only redacted text, so the output carries no raw PII. Nothing loads a model.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC
from pathlib import Path
from typing import Any, TextIO, cast

from pyagent_patterns.actions import (
    AUDIT_KINDS,
    AuditEvent,
    AuditKind,
    AuditQuery,
    parse_condition,
    parse_since,
)
from pyagent_patterns.chat import (
    ConversationStore,
    Pseudonyms,
    close_store,
    default_store_path,
    open_store,
)
from pyagent_providers import NotFoundError, UserError
from pyagent_providers.postgres import database_url, is_postgres_url

__all__ = ["KINDS", "audit_command", "existing_store", "parse_since"]

KINDS: tuple[str, ...] = AUDIT_KINDS
# what each kind's line shows from its data, in this order
_FIELDS: Mapping[str, tuple[str, ...]] = {
    "decision": ("route", "tier", "escalated", "recovery_level", "tool_calls", "cost_usd"),
    "tool_call": ("tool", "verdict", "outcome", "arguments", "case_id"),
    "reply": ("sent", "held_because", "ticket_id"),
    "human_action": ("action", "case_id", "tool", "note"),
}


def existing_store(store: str | None) -> ConversationStore:
    """The conversation store at `store`, which must exist.

    `store` is a ``postgresql://`` URL or a SQLite file; without it,
    ``$PYAGENT_DATABASE_URL`` when set, else the default file.

    Raises:
        NotFoundError: There is no such file (opening it would create an empty one).
    """
    if (store is None and database_url() is not None) or (store and is_postgres_url(store)):
        return open_store(store)
    path = Path(store) if store is not None else default_store_path()
    if not path.is_file():
        raise NotFoundError(f"no conversation store at {path}")
    return open_store(path)


async def audit_command(
    *,
    conversation: str | None,
    since: str | None,
    where: Sequence[str],
    kinds: Sequence[str],
    limit: int,
    store: str | None,
    as_json: bool,
    out: TextIO | None = None,
) -> int:
    """Print the events the filters select, oldest first; returns the exit code."""
    writer = out or sys.stdout
    # every argument is checked before the store is opened
    conditions = tuple(parse_condition(condition) for condition in where)
    moment = None if since is None else parse_since(since)
    if limit < 1:
        raise UserError("--limit must be at least 1")
    conversations = existing_store(store)
    ids = Pseudonyms(conversations.secret())
    try:
        events = await conversations.audit.query(
            AuditQuery(
                conversation_id=ids(conversation),
                since=moment,
                where=conditions,
                kinds=tuple(cast(AuditKind, kind) for kind in kinds),
                limit=limit,
            )
        )
    finally:  # a PostgreSQL store is closed before the event loop ends
        await close_store(conversations)
    if as_json:
        writer.write(json.dumps([event.as_dict() for event in events], indent=2) + "\n")
    else:
        writer.writelines(event_line(event) + "\n" for event in events)
    return 0


def event_line(event: AuditEvent) -> str:
    """One event in a line: time, kind, conversation, actor, confidence, key fields."""
    confidence = "-" if event.confidence is None else f"{event.confidence:.2f}"
    at = event.at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ")
    fields = " ".join(
        f"{name}={_shown(event.data[name])}"
        for name in _FIELDS.get(event.kind, ())
        if event.data.get(name) not in (None, "", [], {})
    )
    return (
        f"{at}  {event.kind:<12} {event.conversation_id or '-'}  "
        f"{event.actor or '-'}  conf {confidence}  {fields}".rstrip()
    )


def _shown(value: Any) -> str:
    """A value without spaces, or quoted: ``tools=a,b``, ``note="not this one"``."""
    if isinstance(value, list | tuple):
        items = [str(item) for item in cast(Sequence[Any], value)]
        return ",".join(items) if not any(" " in item for item in items) else json.dumps(items)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return json.dumps(value, default=str, separators=(",", ":"))
    text = str(value)
    return json.dumps(text) if " " in text else text
