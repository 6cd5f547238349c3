"""Classifiers: a text (or conversation) in, one label of a fixed set out.

Every classifier returns a `Classification`. ``label`` is ``None`` when the classifier
abstains (its confidence is below its threshold), so the caller can ask an LLM or a person
instead of acting on a guess. Supervisor and the routing policy accept any `Classifier`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

from pyagent_providers import Message, Usage

__all__ = ["Classification", "Classifier"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Classification:
    """One classification decision.

    Attributes:
        label: The chosen label; ``None`` when the classifier abstained.
        confidence: Calibrated probability of the best label (0-1).
        probabilities: Every label's probability (empty if the classifier gives none).
        best: The best-scoring label even when abstaining (for reports).
        classifier: Which classifier decided (e.g. ``"embedding:all-MiniLM-L6-v2"``).
        usage: Tokens used (zero for local classifiers).
        cost: What those tokens cost.
    """

    label: str | None
    confidence: float
    best: str
    probabilities: Mapping[str, float] = field(default_factory=dict[str, float])
    classifier: str = ""
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)

    @property
    def abstained(self) -> bool:
        """Whether the classifier declined to choose."""
        return self.label is None


@runtime_checkable
class Classifier(Protocol):
    """Chooses one of `labels` for a conversation."""

    @property
    def labels(self) -> Sequence[str]:
        """The labels it chooses among."""
        ...

    async def classify(self, messages: Sequence[Message]) -> Classification:
        """Classify `messages` (the last user message is what is classified)."""
        ...
