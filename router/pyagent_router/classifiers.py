"""Classifiers: a text (or conversation) in, one label of a fixed set out.

Every classifier returns a `Classification`. ``label`` is ``None`` when the classifier
abstains (its confidence is below its threshold), so the caller can ask an LLM or a person
instead of acting on a guess. Supervisor and the routing policy accept any `Classifier`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, cast, runtime_checkable

from pyagent_providers import (
    LLM,
    Example,
    Message,
    ModelOutputError,
    ModelRequest,
    OutputSchema,
    Usage,
    UserError,
)

from .tracking import cost_labels

__all__ = ["CLASSIFIER_INSTRUCTIONS", "Classification", "Classifier", "LLMClassifier"]


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
    """

    label: str | None
    confidence: float
    best: str
    probabilities: Mapping[str, float] = field(default_factory=dict[str, float])
    classifier: str = ""
    usage: Usage = field(default_factory=Usage)

    @property
    def cost(self) -> Decimal | None:
        """What those tokens cost (``usage.cost``; ``None``: a model has no price)."""
        return self.usage.cost

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


CLASSIFIER_INSTRUCTIONS = """Classify the customer's latest message (read the conversation \
for context) into exactly one of the allowed labels, and say how sure you are.
Answer in the requested structure."""


class LLMClassifier:
    """One structured-output call whose label field is an enum of exactly `labels`.

    The answer is validated against the schema, so a label outside the set raises
    `ModelOutputError` instead of being parsed out of free text.

    Args:
        llm: The model that classifies; usually the cheap one.
        labels: The labels to choose among (at least one, no repeats).
        descriptions: Label → what belongs there, shown in the field's description as
            ``label: text`` lines (the format `LocalModel` reads for zero-shot labels).
        examples: Labelled examples; those whose ``labels[label_key]`` is one of `labels`
            are sent as few-shot cases, others are ignored.
        label_key: The examples' label to learn from, and the schema field's name, so the
            model sees a meaningful name such as ``route`` or ``category``.
        instructions: The system prompt.
        abstain_below: Confidence under which the classification abstains (label ``None``).

    Raises:
        UserError: No labels, repeated labels, descriptions of unknown labels, or
            `abstain_below` outside 0-1.
    """

    def __init__(
        self,
        llm: LLM,
        labels: Sequence[str],
        *,
        descriptions: Mapping[str, str] | None = None,
        examples: Iterable[Example] = (),
        label_key: str = "label",
        instructions: str = CLASSIFIER_INSTRUCTIONS,
        abstain_below: float = 0.0,
    ) -> None:
        self._labels = tuple(labels)
        if not self._labels:
            raise UserError("a classifier needs at least one label")
        if len(set(self._labels)) != len(self._labels):
            raise UserError(f"labels must not repeat: {list(self._labels)}")
        descriptions = dict(descriptions or {})
        if unknown := sorted(set(descriptions) - set(self._labels)):
            raise UserError(f"descriptions name labels that are not classified: {unknown}")
        if not 0.0 <= abstain_below <= 1.0:
            raise UserError("abstain_below must be between 0 and 1")
        self.llm = llm
        self.label_key = label_key
        self.instructions = instructions
        self.abstain_below = abstain_below
        self.examples = tuple(
            Example(text=e.text, labels={label_key: e.labels[label_key]}, title=e.title)
            for e in examples
            if e.labels.get(label_key) in self._labels
        )
        self.schema = OutputSchema.of(_label_schema(label_key, self._labels, descriptions))

    @property
    def labels(self) -> tuple[str, ...]:
        """The labels it chooses among, in the order given."""
        return self._labels

    async def classify(self, messages: Sequence[Message]) -> Classification:
        """Classify `messages` with one structured call.

        Raises:
            ModelOutputError: The answer does not match the schema (e.g. an unknown label).
        """
        request = ModelRequest(
            messages=tuple(m for m in messages if m.role in ("user", "assistant")),
            system=self.instructions,
            output_schema=self.schema,
            examples=self.examples,
        )
        with cost_labels(agent=f"classify:{self.label_key}"):
            response = await self.llm.complete(request)
        output = cast(Mapping[str, Any], response.output)
        label = str(output[self.label_key])
        if label not in self._labels:  # a provider that skipped validation must not route
            raise ModelOutputError(
                f"{self.label_key} {label!r} is not one of {list(self._labels)}",
                field=self.label_key,
            )
        confidence = float(output["confidence"])
        return Classification(
            label=None if confidence < self.abstain_below else label,
            confidence=confidence,
            best=label,
            classifier=f"llm:{response.model_id}",
            usage=response.usage,
        )


def _label_schema(
    key: str, labels: Sequence[str], descriptions: Mapping[str, str]
) -> dict[str, Any]:
    lines = [f"{label}: {descriptions[label]}" for label in labels if label in descriptions]
    return {
        "title": f"{key}_decision",
        "type": "object",
        "properties": {
            key: {
                "type": "string",
                "enum": list(labels),
                "description": "\n".join([f"The one {key} for this conversation.", *lines]),
            },
            "confidence": {
                "type": "number",
                "minimum": 0,
                "maximum": 1,
                "description": "How sure you are, from 0 to 1.",
            },
        },
        "required": [key, "confidence"],
    }
