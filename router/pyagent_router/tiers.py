"""`choose_tier`: the one place a difficulty becomes a tier.

`TalkerReasoner` (two patterns) and the router's ``tier="auto"`` (two model tiers) both ask
it, so the threshold and the hysteresis of a held conversation mean the same everywhere.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["TierDecision", "choose_tier"]


@dataclass(frozen=True, kw_only=True, slots=True)
class TierDecision:
    """The tier chosen, and why in words."""

    tier: str
    reason: str


def choose_tier(
    difficulty: int,
    *,
    threshold: int,
    cheap: str = "fast",
    strong: str = "smart",
    hold_tier: str | None = None,
    release_below: int | None = None,
) -> TierDecision:
    """The tier for a message of `difficulty` (1-10).

    At or above `threshold` the strong tier answers. A conversation held on the strong
    tier (``hold_tier == strong``) stays there while its difficulty is at or above
    `release_below` (the threshold when not given), so a hard issue does not bounce to
    the cheap model on an easy-sounding follow-up.
    """
    if difficulty >= threshold:
        return TierDecision(tier=strong, reason=f"difficulty {difficulty} >= {threshold}")
    floor = threshold if release_below is None else release_below
    if hold_tier == strong and difficulty >= floor:
        reason = f"held on {strong}: difficulty {difficulty} >= release level {floor}"
        return TierDecision(tier=strong, reason=reason)
    return TierDecision(tier=cheap, reason=f"difficulty {difficulty} < {threshold}")
