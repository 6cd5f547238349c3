"""The audit trail: every decision, tool call, sent or held reply and human action.

Each is one `AuditEvent`, stored by an `AuditLog` (`SQLiteAuditLog` in the conversations'
database by default). Events hold only redacted text: tool arguments pass through the
chat handler's PII redaction before they are recorded, and decisions carry scores and
labels, never the customer's words. ``pyagent audit`` and ``GET /v1/audit`` query them:

    pyagent audit --conversation c-42 --since 2026-12-01 --where "confidence<0.9" --json

A condition is ``FIELD OP VALUE`` with OP one of ``< <= > >= = !=``; FIELD is a column
(`AuditEvent`'s ``kind``, ``actor``, ``confidence``, ``conversation_id``, ``message_id``)
or a key of the event's data (``route``, ``tier``, ``tool``, ``verdict``, ``outcome``,
``sent``...). Values are compared as numbers when they look like one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol, get_args

from pyagent_providers import UserError

__all__ = [
    "AUDIT_KINDS",
    "AuditEvent",
    "AuditKind",
    "AuditLog",
    "AuditQuery",
    "Condition",
    "parse_condition",
    "parse_since",
]

AuditKind = Literal["decision", "tool_call", "reply", "human_action"]
AUDIT_KINDS: tuple[AuditKind, ...] = get_args(AuditKind)
_AGE = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_AGE_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
COLUMNS = frozenset({"kind", "actor", "confidence", "conversation_id", "message_id"})
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(<=|>=|!=|=|<|>)\s*(.+?)\s*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditEvent:
    """One thing that happened in a turn, or a person did.

    Attributes:
        kind: ``decision`` (what the turn decided), ``tool_call`` (a call, its policy
            verdict and outcome), ``reply`` (sent, or held as a draft, and why) or
            ``human_action`` (claim, reply, approval, hand-back...).
        conversation_id: The conversation (stored form).
        message_id: The customer message of the turn.
        actor: Who acted: the agent, the tool's name, or the person.
        confidence: The turn's computed confidence, when there is one.
        data: The event's details (redacted).
        at: When (UTC).
        seq: Its position in the log (set when stored).
    """

    kind: AuditKind
    conversation_id: str | None = None
    message_id: str | None = None
    actor: str | None = None
    confidence: float | None = None
    data: Mapping[str, Any] = field(default_factory=dict[str, Any])
    at: datetime = field(default_factory=lambda: datetime.now(UTC))
    seq: int | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "seq": self.seq,
            "at": self.at.isoformat(),
            "kind": self.kind,
            "conversation_id": self.conversation_id,
            "message_id": self.message_id,
            "actor": self.actor,
            "confidence": self.confidence,
            "data": dict(self.data),
        }


@dataclass(frozen=True, slots=True)
class Condition:
    """``field op value``, e.g. ``confidence < 0.9``."""

    field: str
    op: Literal["<", "<=", ">", ">=", "=", "!="]
    value: str | float

    @property
    def is_column(self) -> bool:
        """Whether `field` is a column of the event rather than a key of its data."""
        return self.field in COLUMNS


def parse_condition(text: str) -> Condition:
    """``"confidence<0.9"`` as a `Condition`.

    Raises:
        UserError: It is not ``FIELD OP VALUE``.
    """
    match = _CONDITION.match(text)
    if match is None:
        raise UserError(
            f"cannot read the condition {text!r}: write FIELD OP VALUE, e.g. confidence<0.9"
        )
    name, op, raw = match.groups()
    raw = raw.strip("'\"")
    try:
        value: str | float = float(raw)
    except ValueError:
        value = {"true": 1.0, "false": 0.0}.get(raw.lower(), raw)  # JSON booleans
    return Condition(name, op, value)  # type: ignore[arg-type]


def parse_since(text: str, *, now: datetime | None = None) -> datetime:
    """An ISO date or time (UTC unless it says otherwise), or ``30m``, ``24h``, ``7d``, ``2w`` ago.

    Raises:
        UserError: It is neither.
    """
    age = _AGE.match(text)
    if age is not None:
        amount, unit = age.groups()
        return (now or datetime.now(UTC)) - timedelta(**{_AGE_UNITS[unit]: int(amount)})
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"cannot read the time {text!r}: give an ISO date or time (2026-12-01, "
            "2026-12-01T09:00Z) or an age (30m, 24h, 7d)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


@dataclass(frozen=True, kw_only=True, slots=True)
class AuditQuery:
    """Which events to read: all conditions must hold.

    Attributes:
        conversation_id: Only this conversation's events.
        since: Only events at or after this time.
        where: Conditions on columns or data keys.
        kinds: Only these kinds (all when empty).
        limit: At most this many, oldest first.
    """

    conversation_id: str | None = None
    since: datetime | None = None
    where: Sequence[Condition] = ()
    kinds: Sequence[AuditKind] = ()
    limit: int = 1_000


class AuditLog(Protocol):
    """Where audit events are kept; `SQLiteAuditLog` is the embedded default."""

    async def record(self, *events: AuditEvent) -> None:
        """Store `events` (durably, before the turn's reply is returned)."""
        ...

    async def query(self, query: AuditQuery) -> list[AuditEvent]:
        """The events `query` selects, oldest first."""
        ...
