"""`TalkerReasoner`: a cheap talker answers easy requests, a reasoner the hard ones."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pyagent_providers import Message, UserError
from pyagent_router import DifficultyEstimate, DifficultyEstimator, LLMDifficultyEstimator

from ..base import Runnable, RunResult, as_messages

__all__ = ["TalkerReasoner"]


class TalkerReasoner:
    """Two tiers: the talker answers below `handoff_threshold`, the reasoner at or above.

    A difficulty estimate from 1 to 10 decides.

    Args:
        talker: The fast, cheap pattern (tier ``fast``).
        reasoner: The slower, expensive pattern (tier ``smart``).
        handoff_threshold: Lowest difficulty the reasoner takes (1-10).
        estimator: Any `DifficultyEstimator`; defaults to a structured rating call on the
            talker's model (`LLMDifficultyEstimator`).
    """

    def __init__(
        self,
        talker: Runnable,
        reasoner: Runnable,
        handoff_threshold: int = 5,
        *,
        estimator: DifficultyEstimator | None = None,
    ) -> None:
        if not 1 <= handoff_threshold <= 10:
            raise UserError("handoff_threshold must be between 1 and 10")
        if estimator is None:
            llm = getattr(talker, "llm", None)
            if llm is None:
                raise UserError("the talker has no llm to rate difficulty; pass estimator=")
            estimator = LLMDifficultyEstimator(llm)
        self.talker = talker
        self.reasoner = reasoner
        self.handoff_threshold = handoff_threshold
        self.estimator = estimator

    async def choose(self, messages: Sequence[Message]) -> tuple[str, DifficultyEstimate]:
        """The tier (``"fast"`` or ``"smart"``) for `messages`, and the estimate behind it."""
        estimate = await self.estimator.estimate(messages)
        return ("smart" if estimate.difficulty >= self.handoff_threshold else "fast"), estimate

    async def run(
        self, input: str | Sequence[Message], *, context: Mapping[str, Any] | None = None
    ) -> RunResult:
        """Rate `input`, then let the talker or the reasoner answer it."""
        messages = as_messages(input)
        tier, estimate = await self.choose(messages)
        chosen = self.reasoner if tier == "smart" else self.talker
        result = await chosen.run(messages, context=context)
        return result.with_metadata(
            tier=tier,
            difficulty=estimate.difficulty,
            difficulty_reason=estimate.reason,
            handoff_threshold=self.handoff_threshold,
        ).after(estimate)
