"""What the support system reports about one message: `RoutingDecision` and `SupportReply`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pyagent_guardrails import Finding

__all__ = ["RoutingDecision", "SupportReply"]


@dataclass(frozen=True, kw_only=True, slots=True)
class RoutingDecision:
    """Where one message would go, decided without answering it (``pyagent route``).

    ``route`` is the tier (``fast``, ``smart`` or ``human``); ``bot`` is the Supervisor's
    route (billing, technical, account, general, escalate). ``model`` is the model that
    would answer here (the local model offline), ``online_model`` the one that would answer
    with API keys. ``escalation_reasons`` are the policy's reason codes, ``confidence``
    and ``decided_by`` each signal's confidence and decider. Tokens and cost cover the
    triage's LLM calls only (none with local classification).
    """

    category: str
    priority: str
    assigned_team: str
    sentiment: str
    difficulty: int | None
    route: str
    bot: str
    model: str
    online_model: str
    redacted_text: str
    pii_found: bool
    pii_findings: tuple[Finding, ...]
    escalation_reason: str | None
    escalation_reasons: tuple[str, ...]
    confidence: Mapping[str, float]
    decided_by: Mapping[str, str]
    classification: str
    backend: str
    input_tokens: int
    cost_usd: str
    cost_estimated: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (the ``pyagent route --json`` contract)."""
        data = asdict(self)
        data["escalation_reasons"] = list(self.escalation_reasons)
        return data


@dataclass(frozen=True, kw_only=True, slots=True)
class SupportReply:
    """What the support system did with one message."""

    response: str
    route: str | None
    tier: str | None
    category: str | None
    priority: str | None
    assigned_team: str | None
    sentiment: str | None
    difficulty: int | None
    model: str | None
    online_model: str | None
    recovery_level: int
    escalated: bool
    ticket_id: str | None
    escalation_reason: str | None
    redacted_text: str
    pii_found: bool
    blocked: bool
    backend: str
    input_tokens: int
    output_tokens: int
    cost_usd: str
    cost_estimated: bool

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready dict."""
        return asdict(self)
