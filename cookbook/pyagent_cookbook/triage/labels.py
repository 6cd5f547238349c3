"""The triage's record (`TriageResult`) and the label policy of LABELS.md.

The classifiers propose; these rules reconcile: the team follows the category and the
difficulty, escalation reasons set priority floors, and GDPR-style requests take the smart
tier whatever the classifier says.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any, Literal

from pyagent_providers import Example, Usage
from pyagent_router.escalation import EscalationReason, EscalationVerdict

__all__ = [
    "CASCADE_SIGNALS",
    "SIGNALS",
    "SMART_FROM",
    "SMART_TOPICS",
    "Tier",
    "TriageResult",
    "best_label",
    "priority_for",
    "team_for",
    "with_tier",
]

Tier = Literal["fast", "smart", "human"]
SIGNALS = ("category", "priority", "assigned_team", "sentiment", "tier")
CASCADE_SIGNALS = ("category", "priority", "sentiment", "tier")
SMART_TOPICS = re.compile(
    r"\b(gdpr|rgpd|dsgvo|lgpd|erasure|right\s+to\s+be\s+forgotten|data\s+subject|dsar|"
    r"delete\s+(all\s+)?(my|our)\s+(personal\s+)?data|supprimer\s+(toutes\s+)?mes\s+donnees|"
    r"borrar\s+(todos\s+)?mis\s+datos|meine\s+daten\s+loschen|apagar\s+(todos\s+)?meus\s+dados)",
    re.IGNORECASE,
)
# The smart tier takes a message once P(smart) reaches this: the costs are not symmetric (a
# hard question answered by the cheap model costs a customer, an easy one answered by the
# strong model costs a cent), so a near tie goes to the stronger model.
SMART_FROM = 0.45


@dataclass(frozen=True, kw_only=True, slots=True)
class TriageResult:
    """Every decision about one message.

    Attributes:
        category: billing, technical, account, feature_request or general.
        priority: low, medium, high or critical.
        assigned_team: billing, engineering, account_management, product or support.
        sentiment: neutral, frustrated, angry or satisfied.
        difficulty: 1-10, consistent with the tier (1-3 fast, 4-10 smart).
        tier: fast, smart or human.
        escalation: The escalation policy's verdict, with reasons and scores.
        confidence: Each signal's confidence (0-1).
        decided_by: Each signal's decider: ``local``, ``llm`` or ``policy`` (LABELS.md).
        usage: Tokens spent deciding (LLM cascade and judge only).
    """

    category: str
    priority: str
    assigned_team: str
    sentiment: str
    difficulty: int
    tier: Tier
    escalation: EscalationVerdict
    confidence: Mapping[str, float] = field(default_factory=dict[str, float])
    decided_by: Mapping[str, str] = field(default_factory=dict[str, str])
    usage: Usage = field(default_factory=Usage)

    @property
    def cost(self) -> Decimal | None:
        """What those tokens cost (``usage.cost``; ``None``: a model has no price)."""
        return self.usage.cost

    @property
    def escalation_reasons(self) -> tuple[str, ...]:
        """The escalation reason codes (empty when no person is needed)."""
        return tuple(r.value for r in self.escalation.reasons)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        data = asdict(self)
        data["escalation"] = {
            "escalate": self.escalation.escalate,
            "reasons": list(self.escalation_reasons),
            "score": round(self.escalation.score, 3),
        }
        data["usage"] = {"input_tokens": self.usage.input_tokens}
        data["cost"] = str(self.cost)
        return data


def best_label(probabilities: Mapping[str, float]) -> str:
    """The most probable label."""
    return max(probabilities, key=probabilities.__getitem__)


def team_for(
    category: str,
    difficulty: int,
    reasons: set[EscalationReason],
    probabilities: Mapping[str, float],
) -> str:
    """LABELS.md's team rules; the team classifier chooses where they leave a choice."""
    if EscalationReason.self_harm in reasons:
        return "support"
    if EscalationReason.enterprise_churn in reasons:
        return "account_management"
    allowed = {
        "billing": ("billing",),
        "technical": ("support",) if difficulty <= 3 else ("engineering",),
        "account": ("support",) if difficulty <= 3 else ("engineering", "account_management"),
        "feature_request": ("product",),
        "general": ("support", "account_management", "engineering"),
    }[category]
    if category == "account" and EscalationReason.security in reasons:
        return "engineering"
    if len(allowed) == 1:
        return allowed[0]
    return max(allowed, key=lambda team: probabilities.get(team, 0.0))


def priority_for(category: str, predicted: str, reasons: set[EscalationReason]) -> str:
    """Priority floors and fixed values from LABELS.md."""
    if reasons & {
        EscalationReason.self_harm,
        EscalationReason.legal,
        EscalationReason.enterprise_churn,
        EscalationReason.fraud,
    }:
        return "critical" if predicted == "critical" else "high"
    if EscalationReason.security in reasons:
        return predicted if predicted in ("high", "critical") else "high"
    if EscalationReason.law_enforcement_press in reasons:
        return "medium"
    if category == "feature_request":
        return "low"
    return predicted


def with_tier(example: Example) -> Example:
    """Give every example a fast/smart ``tier`` (a human ticket's tier is its difficulty's)."""
    labels = dict(example.labels)
    route = labels.get("route", labels.get("tier"))
    difficulty = labels.get("difficulty")
    if route in ("fast", "smart"):
        labels["tier"] = route
    elif isinstance(difficulty, int):
        labels["tier"] = "fast" if difficulty <= 3 else "smart"
    return Example(text=example.text, labels=labels, title=example.title)
