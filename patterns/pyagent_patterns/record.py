"""`TurnRecord`: everything one run decided, as one typed value.

Each pattern a message passes through fills in its part (the Supervisor the route, the
router the tier and model, `BoundedExecution` the recovery level, `HumanInTheLoop` the
escalation, the agent its tool calls) and `RunResult.record` carries the whole. The chat
handler, the cookbook, the CLI and the server read the record's fields;
`RunResult.metadata` is a read-only view of it under the seed's keys
(``metadata["route"]``, ``["routed_model"]``, ``["recovery_level"]``, ...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from enum import IntEnum
from typing import Any, Self, cast

from .compat import field_of_key, seed_metadata
from .tools import ToolResult

__all__ = ["RecoveryLevel", "TurnRecord"]


class RecoveryLevel(IntEnum):
    """How an answer was reached (`BoundedExecution`)."""

    FIRST_TRY = 0
    """The first attempt answered."""
    RETRY = 1
    """A retry answered, after provider errors, timeouts or malformed output."""
    FALLBACK = 2
    """The fallback agent answered."""
    HOLDING_NOTICE = 3
    """Nothing could answer: the customer got a notice that the team will follow up."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TurnRecord:
    """What one run decided.

    Attributes:
        agent: The agent that wrote the answer.
        model: The model id that answered (``metadata["routed_model"]``).
        registry_model: Its name in the router's registry.
        route: The Supervisor's route.
        route_confidence: The route classifier's confidence.
        routed_by: ``override``, ``classifier`` or ``low_confidence_default``.
        classifier: Which classifier chose the route.
        tier: ``fast``/``smart`` (or the registry's tiers); ``human`` once escalated.
        tier_reason: Why that tier (difficulty, a pin, a budget downgrade, a fallback).
        difficulty: The difficulty rating (1-10), when one was made.
        confidence: How sure the classifiers were of the turn's decisions (0-1; computed
            outside the model, `pyagent_router.Signals`); what the send gate reads.
        escalated: Whether a person must take the conversation.
        ticket_id: The escalation case.
        escalation_reason: The case's reason, in words.
        escalation_reasons: The escalation policy's reason codes.
        recovery_level: How the answer was reached.
        attempts: Attempts of the protected pattern.
        errors: The error types of failed attempts, oldest first.
        tool_calls: Every tool call of the run and whether it worked.
        max_steps_reached: The tool rounds ran out before the model answered.
        latency_s: Wall time of the answering agent.
        notes: A pattern's own notes under their own keys (e.g. the cookbook's triage).
    """

    agent: str | None = None
    model: str | None = None
    registry_model: str | None = None
    route: str | None = None
    route_confidence: float | None = None
    routed_by: str | None = None
    classifier: str | None = None
    tier: str | None = None
    tier_reason: str | None = None
    difficulty: int | None = None
    confidence: float | None = None
    escalated: bool = False
    ticket_id: str | None = None
    escalation_reason: str | None = None
    escalation_reasons: tuple[str, ...] = ()
    recovery_level: RecoveryLevel = RecoveryLevel.FIRST_TRY
    attempts: int = 1
    errors: tuple[str, ...] = ()
    tool_calls: tuple[ToolResult, ...] = ()
    max_steps_reached: bool = False
    latency_s: float | None = None
    notes: Mapping[str, Any] = field(default_factory=dict[str, Any])

    def updated(self, **values: Any) -> Self:
        """A copy with `values` set; keys that are no field are kept in `notes`.

        Fields are named as here or by their seed metadata key (``routed_model``).
        """
        known = {f.name for f in fields(self)} - {"notes"}
        changes: dict[str, Any] = {}
        notes = dict(self.notes)
        for key, value in values.items():
            name = field_of_key(key)
            if name in known:
                changes[name] = _typed(name, value)
            else:
                notes[key] = value
        return replace(self, **changes, notes=notes)

    def as_metadata(self) -> Mapping[str, Any]:
        """The seed's ``metadata`` view (see `compat.seed_metadata`)."""
        return seed_metadata(self)


def _typed(name: str, value: Any) -> Any:
    if name == "recovery_level":
        return RecoveryLevel(int(value))
    if name == "errors":
        items = cast(Iterable[Any], value) if isinstance(value, list | tuple) else (value,)
        return tuple(str(item) for item in items)
    if name == "escalation_reasons":
        return tuple(str(reason) for reason in value)
    if name == "tool_calls":
        return tuple(value)
    return value
