"""The values an escalation decision is made of: reason codes, signals and the verdict."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, cast

from ..text import fold

__all__ = [
    "SCORE_ONLY",
    "CustomerProfile",
    "EscalationReason",
    "EscalationVerdict",
    "Signal",
    "fold",
    "reason_codes",
]

# The `Signal.detector` of a score reported for audits that does not escalate (the learned
# detector below its threshold).
SCORE_ONLY = "learned-score"


class EscalationReason(StrEnum):
    """Why a person must take a message (the policy in LABELS.md)."""

    human_request = "human_request"
    legal = "legal"
    self_harm = "self_harm"
    violence = "violence"
    abuse = "abuse"
    security = "security"
    fraud = "fraud"
    refund_over_limit = "refund_over_limit"
    enterprise_churn = "enterprise_churn"
    law_enforcement_press = "law_enforcement_press"
    identity_verification = "identity_verification"
    prompt_injection = "prompt_injection"
    high_risk_keyword = "high_risk_keyword"  # a team's own keyword list (HumanInTheLoop)


@dataclass(frozen=True, kw_only=True, slots=True)
class CustomerProfile:
    """What the service knows about the customer, from outside the message.

    The embedding service gives it (``ChatHandler(customer_profile=...)``); the escalation
    policy, tool policies and the send gate read it, never what the message claims.

    Attributes:
        customer_id: The customer's id (the stored form, never an email address).
        plan: The customer's plan, e.g. ``"enterprise"`` (enterprise churn threats escalate).
        tags: Labels such as ``vip`` or ``churn-risk``.
        attributes: Anything else a policy may read.
    """

    customer_id: str | None = None
    plan: str | None = None
    tags: frozenset[str] = frozenset()
    attributes: Mapping[str, Any] = field(default_factory=dict[str, Any])

    @property
    def enterprise(self) -> bool:
        """Whether the customer is on an Enterprise plan (or tagged ``enterprise``)."""
        return (self.plan or "").casefold() == "enterprise" or "enterprise" in self.tags


@dataclass(frozen=True, kw_only=True, slots=True)
class Signal:
    """One detector's finding.

    Attributes:
        reason: The reason code.
        score: How sure the detector is (0-1).
        detector: Which detector found it (``rules``, ``learned``, ``llm-judge``...).
        rule: The rule or pattern that fired, for audits (never the customer's text).
    """

    reason: EscalationReason
    score: float
    detector: str
    rule: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class EscalationVerdict:
    """Whether a person must take the message, and why.

    Attributes:
        escalate: A person must decide.
        signals: Every finding, escalating or not (the learned detector's score is always
            reported, so an audit can see how close a message came).
    """

    escalate: bool
    signals: tuple[Signal, ...] = ()

    @property
    def reasons(self) -> tuple[EscalationReason, ...]:
        """The reason codes of the escalating signals, most certain first, no repeats."""
        if not self.escalate:
            return ()
        ranked = sorted(self.signals, key=lambda s: -s.score)
        return tuple(dict.fromkeys(s.reason for s in ranked if s.detector != SCORE_ONLY))

    @property
    def score(self) -> float:
        """The highest score of any signal (0 when there is none)."""
        return max((s.score for s in self.signals), default=0.0)

    def describe(self) -> str:
        """A one-line reason for people and logs, e.g. ``"security, fraud (rules)"``."""
        if not self.escalate:
            return ""
        detectors = sorted({s.detector for s in self.signals if s.reason in self.reasons})
        return f"{', '.join(self.reasons)} ({', '.join(detectors)})"


def reason_codes(value: object) -> list[str]:
    """Reason codes from a label: a list of codes, one code as a string, or nothing."""
    if not value:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in cast(Sequence[object], value)]
    return [str(value)]
