"""Difficulty estimates (1-10) that decide whether a cheap or an expensive model answers."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable

import pydantic

from pyagent_providers import (
    LLM,
    Example,
    Message,
    ModelRequest,
    OutputSchema,
    Usage,
    default_pricing,
)

__all__ = ["DifficultyEstimate", "DifficultyEstimator", "LLMDifficultyEstimator"]

DIFFICULTY_INSTRUCTIONS = """Rate how hard this customer-support request is to resolve well, \
from 1 to 10:
1-3: a common question that one help-centre article answers;
4-6: needs diagnosis, several steps, or judgement about the customer's situation;
7-10: multi-system debugging, legal or compliance weight, money at stake, or an \
enterprise edge case.
Rate the request, not the customer's tone."""


@dataclass(frozen=True, kw_only=True, slots=True)
class DifficultyEstimate:
    """A difficulty rating with how it was reached and what it cost."""

    difficulty: int
    reason: str = ""
    estimator: str = ""
    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)


@runtime_checkable
class DifficultyEstimator(Protocol):
    """Rates a conversation's difficulty from 1 (trivial) to 10 (hardest)."""

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        """Rate `messages`."""
        ...


class _Rating(pydantic.BaseModel):
    """How hard the request is."""

    difficulty: int = pydantic.Field(ge=1, le=10, description="1 = trivial, 10 = hardest")
    reason: str = pydantic.Field(description="One short sentence on why")


_RATING_SCHEMA = OutputSchema.of(_Rating)


class LLMDifficultyEstimator:
    """Asks a model to rate the difficulty (structured output), optionally with examples.

    Args:
        llm: The model that rates; usually the cheap one.
        examples: Labelled examples with a ``difficulty`` label, shown as few-shot cases
            (and used by `LocalModel` for k-NN regression).
        instructions: The rating rubric.
    """

    def __init__(
        self,
        llm: LLM,
        *,
        examples: Iterable[Example] = (),
        instructions: str = DIFFICULTY_INSTRUCTIONS,
    ) -> None:
        self.llm = llm
        self.examples = tuple(e for e in examples if "difficulty" in e.labels)
        self.instructions = instructions

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        """Rate `messages` with one structured call."""
        request = ModelRequest(
            messages=tuple(m for m in messages if m.role in ("user", "assistant")),
            system=self.instructions,
            output_schema=_RATING_SCHEMA,
            examples=tuple(
                Example(text=e.text, labels={"difficulty": e.labels["difficulty"]})
                for e in self.examples
            ),
        )
        response = await self.llm.complete(request)
        rating: _Rating = response.output
        price = default_pricing().find(response.model_id)
        return DifficultyEstimate(
            difficulty=rating.difficulty,
            reason=rating.reason,
            estimator=f"llm:{response.model_id}",
            usage=response.usage,
            cost=price.cost(response.usage) if price else Decimal(0),
        )
