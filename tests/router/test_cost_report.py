from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from pyagent_providers import Usage, UserError, cost_of
from pyagent_router import CallRecord, ProfiledQuery, build_cost_profile

MINI, SONNET = "openai:gpt-4o-mini", "anthropic:claude-sonnet-4"


def _call(priced_as: str, tokens_in: int, tokens_out: int, agent: str = "bot") -> CallRecord:
    usage = Usage(input_tokens=tokens_in, output_tokens=tokens_out)
    usage = replace(usage, cost=cost_of(usage, priced_as), cost_estimated=True)
    return CallRecord(
        at=datetime.now(UTC), model="local:all-MiniLM-L6-v2", priced_as=priced_as, tier=None,
        agent=agent, route=None, conversation_id=None, query=None, usage=usage,
    )  # fmt: skip


def _query(id: str, category: str, tier: str, answer: CallRecord, expected: str | None = None):
    classify = _call(MINI, 1_000, 20, agent="classify:route")
    model = "claude-sonnet-4" if tier == "smart" else "gpt-4o-mini"
    return ProfiledQuery(
        id=id, category=category, tier=tier, model=model, calls=(classify, answer),
        expected_tier=expected,
    )  # fmt: skip


TRAFFIC = [
    _query("a", "billing", "fast", _call(MINI, 200, 100), expected="fast"),
    _query("b", "billing", "fast", _call(MINI, 300, 300), expected="smart"),
    _query("c", "technical", "smart", _call(SONNET, 400, 500), expected="smart"),
    _query("d", "technical", "smart", _call(SONNET, 200, 300), expected="fast"),
]


def test_a_row_recomputed_by_hand() -> None:
    profile = build_cost_profile(TRAFFIC, per_day=1_000, cheap_model=MINI, expensive_model=SONNET)
    row = next(r for r in profile.rows if (r.category, r.tier) == ("technical", "smart"))
    # classification: 1,000 in + 20 out on gpt-4o-mini ($0.15 / $0.60 per M)
    classify = (1_000 * Decimal("0.15") + 20 * Decimal("0.60")) / 1_000_000
    # answers on Sonnet ($3 / $15 per M): (400 in, 500 out) and (200 in, 300 out)
    answers = (600 * Decimal(3) + 800 * Decimal(15)) / 1_000_000
    mean = (2 * classify + answers) / 2
    assert row.count == 2 and row.share == 0.5
    assert row.mean_input_tokens == (1_400 + 1_200) / 2
    assert row.mean_output_tokens == (520 + 320) / 2
    assert row.mean_cost == mean
    assert row.monthly_cost == mean * Decimal("0.5") * 1_000 * 30
    assert row.model == "claude-sonnet-4"


def test_blend_baselines_savings_and_labels() -> None:
    profile = build_cost_profile(TRAFFIC, per_day=100, cheap_model=MINI, expensive_model=SONNET)
    total = sum((q.cost for q in TRAFFIC), Decimal(0))
    assert profile.mean_cost == total / 4
    assert profile.monthly_cost == total / 4 * 100 * 30
    every_call = [c for q in TRAFFIC for c in q.calls]
    on_sonnet = sum((cost_of(c.usage, SONNET) for c in every_call), Decimal(0)) / 4
    on_mini = sum((cost_of(c.usage, MINI) for c in every_call), Decimal(0)) / 4
    assert profile.always_expensive.mean_cost == on_sonnet
    assert profile.always_cheap.mean_cost == on_mini
    assert profile.always_cheap.mean_cost < profile.mean_cost < on_sonnet
    assert profile.savings == pytest.approx(float(1 - profile.mean_cost / on_sonnet))
    assert profile.tier_shares == {"fast": 0.5, "smart": 0.5}
    assert profile.hard_kept_cheap == ["b"]
    assert profile.easy_sent_expensive == ["d"]
    assert profile.estimated
    classifying = sum((q.calls[0].cost for q in TRAFFIC), Decimal(0)) / 4
    answering = sum((q.calls[1].cost for q in TRAFFIC), Decimal(0)) / 4
    assert profile.spend_by_agent == {"bot": answering, "classify:route": classifying}

    as_json = profile.to_dict()
    assert as_json["labels"]["hard"] == 2
    assert as_json["blended"]["mean_cost_usd"] == f"{profile.mean_cost:.8f}"


def test_bad_arguments_are_clear_errors() -> None:
    with pytest.raises(UserError, match="empty"):
        build_cost_profile([], per_day=10, cheap_model=MINI, expensive_model=SONNET)
    with pytest.raises(UserError, match="per-day"):
        build_cost_profile(TRAFFIC, per_day=0, cheap_model=MINI, expensive_model=SONNET)
    with pytest.raises(UserError, match="no price"):
        build_cost_profile(TRAFFIC, per_day=1, cheap_model="openai:nope", expensive_model=SONNET)
