"""`TalkerReasoner`: a cheap talker answers easy requests, a reasoner the hard ones."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from pyagent_providers import Message, UserError
from pyagent_router import DifficultyEstimate, DifficultyEstimator, LLMDifficultyEstimator
from pyagent_router.context import ContextArg, RunContext
from pyagent_router.tiers import choose_tier

from ..base import Pattern, Runnable, RunResult, as_messages

__all__ = ["TalkerReasoner", "TierChoice"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TierChoice:
    """Which tier answers, the estimate behind it, and why."""

    tier: Literal["fast", "smart"]
    estimate: DifficultyEstimate
    reason: str


class TalkerReasoner(Pattern):
    """Two tiers: the talker answers below `handoff_threshold`, the reasoner at or above.

    A difficulty estimate from 1 to 10 decides. A multi-turn caller (the `ChatHandler`)
    can ask for hysteresis through the run context: with ``RunContext.hold_tier ==
    "smart"`` the reasoner keeps answering while the difficulty stays at or above
    ``RunContext.release_below`` (`pyagent_router.choose_tier` decides, as the router's
    ``tier="auto"`` does). The record gets ``tier``, ``difficulty`` and ``tier_reason``.

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

    async def choose(
        self, messages: Sequence[Message], *, context: ContextArg = None
    ) -> TierChoice:
        """The tier for `messages` (with the context's hold, if any), without answering."""
        estimate = await self.estimator.estimate(messages)
        ctx = RunContext.of(context)
        decision = choose_tier(
            estimate.difficulty,
            threshold=self.handoff_threshold,
            hold_tier=ctx.hold_tier,
            release_below=ctx.release_below,
        )
        tier: Literal["fast", "smart"] = "smart" if decision.tier == "smart" else "fast"
        return TierChoice(tier=tier, estimate=estimate, reason=decision.reason)

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        """Rate `input`, then let the talker or the reasoner answer it."""
        messages = as_messages(input)
        choice = await self.choose(messages, context=context)
        chosen = self.reasoner if choice.tier == "smart" else self.talker
        result = await chosen.run(messages, context=context)
        return result.with_metadata(
            tier=choice.tier,
            tier_reason=choice.reason,
            difficulty=choice.estimate.difficulty,
            difficulty_reason=choice.estimate.reason,
            handoff_threshold=self.handoff_threshold,
        ).after(choice.estimate)
