"""`Signals`: what was decided about a turn outside the model, for code that must not trust it.

A tool policy (`pyagent_patterns.actions.ToolPolicy`) and the confidence gate on sending
read these, never a number the model wrote in a tool call: a model that passes
``confidence=0.99`` to ``send_reply`` has only written a string. The classifiers and the
escalation policy fill `Signals` before the answering model runs; the embedding service
fills `CustomerProfile` (``ChatHandler(customer_profile=...)``).
"""

from __future__ import annotations

from dataclasses import dataclass

from .escalation.verdict import CustomerProfile

__all__ = ["CustomerProfile", "Signals"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Signals:
    """Scores computed outside the model for one turn.

    Attributes:
        confidence: How sure the classifiers are of the turn's decisions, in [0, 1]: the
            lowest of the route, tier and escalation confidences (``None``: not measured).
        route_confidence: The route classifier's confidence.
        escalation_probability: The escalation model's probability that a person must decide.
        escalation_reasons: The escalation policy's reason codes.
        customer: The customer's profile, when the embedding service gives one.
    """

    confidence: float | None = None
    route_confidence: float | None = None
    escalation_probability: float | None = None
    escalation_reasons: tuple[str, ...] = ()
    customer: CustomerProfile | None = None
