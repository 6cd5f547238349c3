"""The cost profile: what routed traffic costs per query type, against one-model baselines.

Built from the calls each query really made (`CallRecord`s: tokens as reported, cost from
the pricing table). A month is 30 days at the stated daily volume. Baselines re-price
every recorded call at one model's prices with the same token counts: what the same
traffic would cost if one model did all the work ("always expensive", "always cheap").
When the records are estimates (a local stand-in priced as the online models), the whole
profile is flagged ``estimated``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from pyagent_providers import PricingTable, UserError, default_pricing

from .tracking import CallRecord

__all__ = ["Baseline", "CostProfile", "ProfiledQuery", "QueryType", "build_cost_profile"]

DAYS_PER_MONTH = 30
HARD_TIERS = frozenset({"smart", "human"})


@dataclass(frozen=True, kw_only=True, slots=True)
class ProfiledQuery:
    """One query of the traffic and the calls answering it made.

    Attributes:
        id: The query's id in the traffic file.
        category: Its category (as classified).
        tier: The tier that handled it: ``fast``, ``smart`` or ``human``.
        model: The model that answered (or would answer online).
        calls: Every model call made for it.
        expected_tier: The labelled tier, when the traffic file has one.
    """

    id: str
    category: str
    tier: str
    model: str
    calls: tuple[CallRecord, ...]
    expected_tier: str | None = None

    @property
    def cost(self) -> Decimal:
        """What its calls cost."""
        return sum((call.cost for call in self.calls), Decimal(0))

    @property
    def input_tokens(self) -> int:
        """Input tokens of its calls."""
        return sum(call.usage.input_tokens for call in self.calls)

    @property
    def output_tokens(self) -> int:
        """Output tokens of its calls."""
        return sum(call.usage.output_tokens for call in self.calls)


@dataclass(frozen=True, kw_only=True, slots=True)
class QueryType:
    """One row of the profile: the queries of one category handled by one tier."""

    category: str
    tier: str
    model: str
    count: int
    share: float
    mean_input_tokens: float
    mean_output_tokens: float
    mean_cost: Decimal
    monthly_cost: Decimal


@dataclass(frozen=True, kw_only=True, slots=True)
class Baseline:
    """The same traffic with every call priced at one model."""

    model: str
    mean_cost: Decimal
    monthly_cost: Decimal


@dataclass(frozen=True, kw_only=True, slots=True)
class CostProfile:
    """The cost report of a traffic sample (see the module docstring).

    ``rows`` are ordered by count; ``spend_by_agent`` is the mean cost per query of each
    agent's calls (triage, classification, difficulty, the answering bots), which shows
    where the money goes.
    """

    queries: int
    per_day: int
    rows: tuple[QueryType, ...]
    mean_cost: Decimal
    monthly_cost: Decimal
    always_expensive: Baseline
    always_cheap: Baseline
    tier_shares: dict[str, float]
    estimated: bool
    pricing_as_of: str
    spend_by_agent: dict[str, Decimal] = field(default_factory=dict[str, Decimal])
    labelled: int = 0
    hard_labelled: int = 0
    hard_kept_cheap: list[str] = field(default_factory=list[str])
    easy_sent_expensive: list[str] = field(default_factory=list[str])

    @property
    def savings(self) -> float:
        """Share of the "always expensive" cost that routing saves (negative: it costs more)."""
        if not self.always_expensive.mean_cost:
            return 0.0
        return float(1 - self.mean_cost / self.always_expensive.mean_cost)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (money as strings, so no precision is lost)."""

        def money(value: Decimal) -> str:
            return f"{value:.8f}"

        def baseline(b: Baseline) -> dict[str, str]:
            return {
                "model": b.model,
                "mean_cost_usd": money(b.mean_cost),
                "monthly_cost_usd": money(b.monthly_cost),
            }

        return {
            "queries": self.queries,
            "per_day": self.per_day,
            "days_per_month": DAYS_PER_MONTH,
            "estimated": self.estimated,
            "pricing_as_of": self.pricing_as_of,
            "rows": [
                {
                    "category": r.category,
                    "tier": r.tier,
                    "model": r.model,
                    "count": r.count,
                    "share": round(r.share, 4),
                    "mean_input_tokens": round(r.mean_input_tokens, 1),
                    "mean_output_tokens": round(r.mean_output_tokens, 1),
                    "mean_cost_usd": money(r.mean_cost),
                    "monthly_cost_usd": money(r.monthly_cost),
                }
                for r in self.rows
            ],
            "blended": {
                "mean_cost_usd": money(self.mean_cost),
                "monthly_cost_usd": money(self.monthly_cost),
            },
            "always_expensive": baseline(self.always_expensive),
            "always_cheap": baseline(self.always_cheap),
            "savings_vs_always_expensive": round(self.savings, 4),
            "tier_shares": {tier: round(share, 4) for tier, share in self.tier_shares.items()},
            "mean_cost_by_agent_usd": {
                agent: money(cost) for agent, cost in self.spend_by_agent.items()
            },
            "labels": {
                "labelled": self.labelled,
                "hard": self.hard_labelled,
                "hard_kept_by_cheap_tier": len(self.hard_kept_cheap),
                "hard_kept_by_cheap_tier_ids": self.hard_kept_cheap,
                "easy_sent_to_expensive_tier": len(self.easy_sent_expensive),
                "easy_sent_to_expensive_tier_ids": self.easy_sent_expensive,
            },
        }


def build_cost_profile(
    queries: Sequence[ProfiledQuery],
    *,
    per_day: int,
    cheap_model: str,
    expensive_model: str,
    pricing: PricingTable | None = None,
) -> CostProfile:
    """Aggregate profiled queries into a `CostProfile`.

    Args:
        queries: The traffic, each with its calls.
        per_day: Queries per day, for monthly figures.
        cheap_model: Model id of the "always cheap" baseline (e.g. ``openai:gpt-4o-mini``).
        expensive_model: Model id of the "always expensive" baseline.
        pricing: Price table for the baselines (the default table if omitted).

    Raises:
        UserError: No queries, a non-positive volume, or a baseline model without a price.
    """
    if not queries:
        raise UserError("the traffic sample is empty")
    if per_day <= 0:
        raise UserError("--per-day must be a positive number of queries")
    pricing = pricing or default_pricing()
    total = len(queries)
    monthly = Decimal(per_day * DAYS_PER_MONTH)

    groups: dict[tuple[str, str], list[ProfiledQuery]] = {}
    for query in queries:
        groups.setdefault((query.category, query.tier), []).append(query)
    rows = tuple(
        _row(category, tier, group, total, monthly)
        for (category, tier), group in sorted(groups.items(), key=lambda item: -len(item[1]))
    )
    mean_cost = sum((q.cost for q in queries), Decimal(0)) / total
    labelled = [q for q in queries if q.expected_tier is not None]
    hard = [q for q in labelled if q.expected_tier in HARD_TIERS]
    return CostProfile(
        queries=total,
        per_day=per_day,
        rows=rows,
        mean_cost=mean_cost,
        monthly_cost=mean_cost * monthly,
        always_expensive=_baseline(expensive_model, queries, pricing, monthly),
        always_cheap=_baseline(cheap_model, queries, pricing, monthly),
        tier_shares={
            tier: sum(q.tier == tier for q in queries) / total
            for tier in sorted({q.tier for q in queries})
        },
        estimated=any(call.estimated for q in queries for call in q.calls),
        spend_by_agent=_by_agent(queries),
        pricing_as_of=str(pricing.as_of),
        labelled=len(labelled),
        hard_labelled=len(hard),
        hard_kept_cheap=[q.id for q in hard if q.tier == "fast"],
        easy_sent_expensive=[
            q.id for q in labelled if q.expected_tier == "fast" and q.tier in HARD_TIERS
        ],
    )


def _row(
    category: str, tier: str, group: Sequence[ProfiledQuery], total: int, monthly: Decimal
) -> QueryType:
    count = len(group)
    mean_cost = sum((q.cost for q in group), Decimal(0)) / count
    return QueryType(
        category=category,
        tier=tier,
        model=Counter(q.model for q in group).most_common(1)[0][0],
        count=count,
        share=count / total,
        mean_input_tokens=sum(q.input_tokens for q in group) / count,
        mean_output_tokens=sum(q.output_tokens for q in group) / count,
        mean_cost=mean_cost,
        monthly_cost=mean_cost * count / total * monthly,
    )


def _baseline(
    model: str, queries: Sequence[ProfiledQuery], pricing: PricingTable, monthly: Decimal
) -> Baseline:
    price = pricing.find(model)
    if price is None:
        raise UserError(f"no price for baseline model {model!r}; add it to the pricing table")
    total = sum((price.cost(call.usage) for q in queries for call in q.calls), Decimal(0))
    mean = total / len(queries)
    return Baseline(model=model, mean_cost=mean, monthly_cost=mean * monthly)


def _by_agent(queries: Sequence[ProfiledQuery]) -> dict[str, Decimal]:
    """Mean cost per query of each agent's calls, most expensive first."""
    totals: dict[str, Decimal] = {}
    for call in (call for q in queries for call in q.calls):
        agent = call.agent or "-"
        totals[agent] = totals.get(agent, Decimal(0)) + call.cost
    ranked = sorted(totals.items(), key=lambda item: -item[1])
    return {agent: total / len(queries) for agent, total in ranked}
