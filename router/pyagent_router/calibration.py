"""Choosing `TalkerReasoner.handoff_threshold` from difficulty estimates of labelled examples.

A threshold ``t`` sends a query to the expensive tier when its difficulty is ``>= t``. For
each ``t`` from 1 to 10 the trade-off curve reports the share of traffic that goes to the
expensive tier and, when the examples say which tier they need (``fast`` or ``smart``), the
share of hard queries it catches and the share of easy ones it sends there needlessly.

- `calibrate_threshold`: the highest threshold that still catches `target_recall` of the
  hard queries, i.e. the cheapest one that meets the quality bar.
- `threshold_for_share`: the threshold whose expensive share is closest to, but not above,
  a budgeted share.
- `calibrate`: runs an estimator over labelled `Example`s, then `calibrate_threshold`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from pyagent_providers import Example, Message, UserError

from .difficulty import DifficultyEstimate, DifficultyEstimator

__all__ = ["Calibration", "CurvePoint", "calibrate", "calibrate_threshold", "threshold_for_share"]

THRESHOLDS = range(1, 11)
TIERS = ("fast", "smart")


@dataclass(frozen=True, kw_only=True, slots=True)
class CurvePoint:
    """What one threshold would do to the calibration examples.

    Attributes:
        threshold: Queries with difficulty ``>= threshold`` go to the expensive tier.
        expensive_share: Share of all queries sent to the expensive tier.
        hard_caught: Share of hard (``smart``) queries sent there; ``None`` without labels.
        easy_to_smart: Share of easy (``fast``) queries sent there needlessly; ``None``
            without labels.
    """

    threshold: int
    expensive_share: float
    hard_caught: float | None = None
    easy_to_smart: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Calibration:
    """A chosen handoff threshold and the trade-off curve it was chosen from.

    Attributes:
        threshold: The chosen `handoff_threshold` (1-10).
        curve: One point per threshold, 1 to 10.
        rule: How the threshold was chosen, in words.
        examples: How many examples were rated.
        hard: How many of them need the expensive tier (``None`` without labels).
    """

    threshold: int
    curve: tuple[CurvePoint, ...]
    rule: str
    examples: int
    hard: int | None = None

    @property
    def chosen(self) -> CurvePoint:
        """The curve point of the chosen threshold."""
        return self.curve[self.threshold - 1]

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data."""
        return {
            "threshold": self.threshold,
            "rule": self.rule,
            "examples": self.examples,
            "hard": self.hard,
            "curve": [
                {
                    "threshold": p.threshold,
                    "expensive_share": p.expensive_share,
                    "hard_caught": p.hard_caught,
                    "easy_to_smart": p.easy_to_smart,
                }
                for p in self.curve
            ],
        }


def calibrate_threshold(
    estimates_with_labels: Iterable[tuple[int | DifficultyEstimate, str]],
    *,
    target_recall: float = 0.9,
) -> Calibration:
    """The highest threshold that still sends `target_recall` of the hard queries to smart.

    Raising the threshold can only lower both the expensive share and the hard queries
    caught, so the highest threshold meeting the target is the cheapest that does; threshold
    1 catches every hard query, so one always exists.

    Args:
        estimates_with_labels: ``(difficulty or estimate, desired tier)`` pairs, tier
            ``"fast"`` or ``"smart"``.
        target_recall: Share of hard queries that must reach the expensive tier (0-1].

    Raises:
        UserError: No examples, a tier other than fast/smart, a difficulty outside 1-10,
            no hard example, or `target_recall` outside (0, 1].
    """
    if not 0.0 < target_recall <= 1.0:
        raise UserError("target_recall must be above 0 and at most 1")
    pairs = [(_difficulty(d), tier) for d, tier in estimates_with_labels]
    if unknown := sorted({tier for _, tier in pairs} - set(TIERS)):
        raise UserError(f"desired tiers must be 'fast' or 'smart', not {unknown}")
    hard = [d for d, tier in pairs if tier == "smart"]
    easy = [d for d, tier in pairs if tier == "fast"]
    if not hard:
        raise UserError(
            "calibration needs examples labelled 'smart': with no hard queries there is "
            "no recall to target"
        )
    curve = tuple(
        CurvePoint(
            threshold=t,
            expensive_share=_share_at_least(t, hard + easy),
            hard_caught=_share_at_least(t, hard),
            easy_to_smart=_share_at_least(t, easy) if easy else 0.0,
        )
        for t in THRESHOLDS
    )
    threshold = max(p.threshold for p in curve if (p.hard_caught or 0.0) >= target_recall)
    return Calibration(
        threshold=threshold,
        curve=curve,
        rule=f"highest threshold catching at least {target_recall:.0%} of hard queries",
        examples=len(pairs),
        hard=len(hard),
    )


def threshold_for_share(
    difficulties: Iterable[int | DifficultyEstimate], target_share: float
) -> Calibration:
    """The threshold whose expensive share is closest to, but not above, `target_share`.

    When several thresholds send the same share (no query has the difficulties between
    them), the highest is chosen: unseen queries at those difficulties then stay cheap.

    Args:
        difficulties: Difficulty ratings of representative traffic.
        target_share: The largest share of traffic the expensive tier may take (0-1).

    Raises:
        UserError: No ratings, a rating outside 1-10, `target_share` outside 0-1, or a
            target below the share of queries rated 10 (no threshold is that cheap).
    """
    if not 0.0 <= target_share <= 1.0:
        raise UserError("target_share must be between 0 and 1")
    values = [_difficulty(d) for d in difficulties]
    if not values:
        raise UserError("calibration needs at least one difficulty rating")
    curve = tuple(
        CurvePoint(threshold=t, expensive_share=_share_at_least(t, values)) for t in THRESHOLDS
    )
    within = [p for p in curve if p.expensive_share <= target_share]
    if not within:
        raise UserError(
            f"no threshold sends at most {target_share:.0%} of traffic to the expensive "
            f"tier: {curve[-1].expensive_share:.0%} is rated 10"
        )
    best = max(within, key=lambda p: (p.expensive_share, p.threshold))
    return Calibration(
        threshold=best.threshold,
        curve=curve,
        rule=f"expensive share closest to but not above {target_share:.0%}",
        examples=len(values),
    )


async def calibrate(
    estimator: DifficultyEstimator,
    examples: Iterable[Example],
    *,
    target_recall: float = 0.9,
    concurrency: int = 8,
) -> Calibration:
    """Rate labelled examples with `estimator` and choose the threshold for `target_recall`.

    Examples need a ``tier`` label; only ``fast`` and ``smart`` ones are used. ``human``
    examples (and unlabelled ones) are left out: a person takes them whatever their
    difficulty, so they say nothing about where the model tiers should split.

    Args:
        estimator: Any `DifficultyEstimator`; use the one that will route in production.
        examples: In-domain examples labelled with the ``tier`` they need.
        target_recall: See `calibrate_threshold`.
        concurrency: Estimates in flight at once (LLM estimators make one call each).

    Raises:
        UserError: As `calibrate_threshold`, e.g. when no example is labelled ``smart``.
    """
    if concurrency < 1:
        raise UserError("concurrency must be at least 1")
    labelled = [e for e in examples if e.labels.get("tier") in TIERS]
    gate = asyncio.Semaphore(concurrency)

    async def rate(example: Example) -> DifficultyEstimate:
        async with gate:
            return await estimator.estimate([Message.user(example.text)])

    estimates = await asyncio.gather(*(rate(e) for e in labelled))
    return calibrate_threshold(
        zip(estimates, (str(e.labels["tier"]) for e in labelled), strict=True),
        target_recall=target_recall,
    )


def _difficulty(value: int | DifficultyEstimate) -> int:
    difficulty = value.difficulty if isinstance(value, DifficultyEstimate) else value
    if not 1 <= difficulty <= 10:
        raise UserError(f"difficulties must be from 1 to 10, not {difficulty!r}")
    return difficulty


def _share_at_least(threshold: int, values: Sequence[int]) -> float:
    return sum(v >= threshold for v in values) / len(values)
