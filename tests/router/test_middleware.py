from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from pyagent_patterns import Agent
from pyagent_providers import (
    BudgetExceeded,
    Message,
    NoRouteError,
    ProviderHTTPError,
    RateLimitError,
    ScriptedModel,
    UserError,
)
from pyagent_router import (
    Budget,
    CircuitBreaker,
    DifficultyEstimate,
    ModelRegistry,
    RouterMiddleware,
    SQLiteCostTracker,
)

FAST_PRICE = "openai:gpt-4o-mini"
SMART_PRICE = "anthropic:claude-sonnet-4"


def _outage() -> RateLimitError:
    return RateLimitError("slow down", provider="test", model="x")


class FixedDifficulty:
    def __init__(self, difficulty: int) -> None:
        self.difficulty = difficulty

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        return DifficultyEstimate(difficulty=self.difficulty, estimator="fixed")


def _registry(**models: tuple[ScriptedModel, str]) -> ModelRegistry:
    registry = ModelRegistry()
    for name, (llm, tier) in models.items():
        price = FAST_PRICE if tier == "fast" else SMART_PRICE
        registry.register(name, llm, tier=tier, priced_as=price)
    return registry


async def test_the_seed_form_puts_the_cheapest_model_in_the_fast_tier() -> None:
    fast, smart = ScriptedModel(default="quick"), ScriptedModel(default="deep")
    router = RouterMiddleware(model_registry={"gpt-4o-mini": fast, "claude-sonnet-4": smart})
    assert [m.name for m in router.registry.in_tier("fast")] == ["gpt-4o-mini"]
    result = await router.wrap(Agent("bot", smart)).run("hello")
    assert result.output == "deep"
    assert result.metadata["tier"] == "smart"
    assert result.metadata["registry_model"] == "claude-sonnet-4"
    assert result.metadata["routed_model"] == smart.model_id


async def test_provider_failure_falls_back_within_the_tier() -> None:
    primary = ScriptedModel([_outage()], model="primary")
    backup = ScriptedModel(default="from backup", model="backup")
    smart = ScriptedModel(default="never", model="smart")
    router = RouterMiddleware(
        _registry(primary=(primary, "fast"), backup=(backup, "fast"), smart=(smart, "smart"))
    )
    result = await router.wrap(Agent("bot", primary)).run("where is my invoice?")
    assert result.output == "from backup"
    assert result.metadata["routed_model"] == "test:backup"
    assert result.metadata["registry_model"] == "backup"
    assert "fallback: primary failed (RateLimitError)" in result.metadata["route_reason"]
    assert smart.calls == []  # never escapes its tier


async def test_when_every_model_of_the_tier_fails_the_last_error_is_raised() -> None:
    one = ScriptedModel([_outage()], model="one")
    two = ScriptedModel([ProviderHTTPError("boom", status_code=500)], model="two")
    router = RouterMiddleware(_registry(one=(one, "fast"), two=(two, "fast")))
    with pytest.raises(ProviderHTTPError):
        await router.wrap(Agent("bot", one)).run("hi")


async def test_circuit_breaker_opens_skips_the_model_and_recovers_after_cooldown() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=2, cooldown_seconds=30, clock=lambda: now[0])
    flaky = ScriptedModel([_outage(), _outage()], default="flaky is back", model="flaky")
    steady = ScriptedModel(default="steady", model="steady")
    registry = ModelRegistry()
    registry.register("flaky", flaky, tier="fast", breaker=breaker)
    registry.register("steady", steady, tier="fast")
    agent = RouterMiddleware(registry).wrap(Agent("bot", flaky))

    for _ in range(2):
        assert (await agent.run("hi")).output == "steady"
    assert breaker.state == "open"

    result = await agent.run("hi")  # open: flaky is not even tried
    assert result.output == "steady"
    assert "flaky circuit open" in result.metadata["route_reason"]
    assert len(flaky.calls) == 2

    now[0] = 31.0  # cool-down over: one probe goes through and closes the circuit
    assert breaker.state == "half_open"
    assert (await agent.run("hi")).output == "flaky is back"
    assert breaker.state == "closed"


async def test_a_failed_probe_reopens_the_circuit() -> None:
    now = [0.0]
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=10, clock=lambda: now[0])
    breaker.failed()
    now[0] = 11.0
    assert breaker.allow()
    assert not breaker.allow()  # only one probe at a time
    breaker.failed()
    assert breaker.state == "open"


async def test_all_circuits_open_is_a_clear_no_route_error() -> None:
    breaker = CircuitBreaker(failure_threshold=1, cooldown_seconds=60)
    breaker.failed()
    only = ScriptedModel(default="x", model="only")
    registry = ModelRegistry()
    registry.register("only", only, tier="fast", breaker=breaker)
    with pytest.raises(NoRouteError, match="only circuit open"):
        await RouterMiddleware(registry).wrap(Agent("bot", only)).run("hi")
    assert only.calls == []


async def test_auto_tier_follows_the_difficulty_threshold() -> None:
    fast, smart = ScriptedModel(default="quick"), ScriptedModel(default="deep")
    registry = _registry(fast=(fast, "fast"), smart=(smart, "smart"))
    for difficulty, expected in ((4, "quick"), (5, "deep")):
        router = RouterMiddleware(
            registry, estimator=FixedDifficulty(difficulty), handoff_threshold=5
        )
        result = await router.wrap(Agent("bot", fast), tier="auto").run("hi")
        assert result.output == expected
    assert result.metadata["route_reason"] == "difficulty 5 >= 5"


async def test_tier_can_be_pinned_by_wrap_or_by_the_run_context() -> None:
    fast, smart = ScriptedModel(default="quick"), ScriptedModel(default="deep")
    router = RouterMiddleware(_registry(fast=(fast, "fast"), smart=(smart, "smart")))
    assert (await router.wrap(Agent("bot", fast), tier="smart").run("hi")).output == "deep"
    agent = router.wrap(Agent("bot", smart))
    assert (await agent.run("hi", context={"tier": "fast"})).output == "quick"


async def test_configuration_errors_are_clear() -> None:
    fast = ScriptedModel(default="x")
    router = RouterMiddleware({"only": fast})
    with pytest.raises(UserError, match="estimator"):
        router.wrap(Agent("bot", fast), tier="auto")
    with pytest.raises(UserError, match="unknown tier"):
        router.wrap(Agent("bot", fast), tier="premium")
    with pytest.raises(NoRouteError, match="smart"):
        await router.wrap(Agent("bot", fast), tier="smart").run("hi")
    with pytest.raises(UserError):
        RouterMiddleware({})
    with pytest.raises(UserError):
        Budget(per_day=Decimal(-1))


async def test_cost_is_tracked_per_conversation_from_reported_usage() -> None:
    fast = ScriptedModel(default="Your invoice is under Settings.")
    tracker = SQLiteCostTracker()
    router = RouterMiddleware(_registry(fast=(fast, "fast")), tracker=tracker)
    agent = router.wrap(Agent("billing", fast))
    result = await agent.run("Where is my invoice?", context={"conversation_id": "c1"})
    await agent.run("Thanks!", context={"conversation_id": "c2"})

    [record] = await tracker.records(conversation_id="c1")
    assert record.priced_as == FAST_PRICE and record.estimated  # a stand-in's tokens
    # gpt-4o-mini: $0.15 in / $0.60 out per million tokens
    expected = (
        Decimal(record.usage.input_tokens) * Decimal("0.15")
        + Decimal(record.usage.output_tokens) * Decimal("0.60")
    ) / 1_000_000
    assert record.cost == expected > 0
    assert result.metadata["cost_usd"] == str(expected)
    assert Decimal(result.metadata["estimated_cost_usd"]) > 0
    assert await tracker.by("agent") == {"billing": await tracker.total()}
    assert set(await tracker.by("conversation_id")) == {"c1", "c2"}


async def test_concurrent_runs_report_only_their_own_cost() -> None:
    fast = ScriptedModel(default="ok", delay=0.01)
    router = RouterMiddleware(_registry(fast=(fast, "fast")))
    agent = router.wrap(Agent("bot", fast))
    short, long = await asyncio.gather(agent.run("hi"), agent.run("word " * 400))
    assert Decimal(short.metadata["cost_usd"]) < Decimal(long.metadata["cost_usd"])


async def test_budget_overrun_downgrades_to_the_cheaper_tier() -> None:
    fast, smart = ScriptedModel(default="quick"), ScriptedModel(default="deep")
    router = RouterMiddleware(
        _registry(fast=(fast, "fast"), smart=(smart, "smart")),
        budget=Budget(per_conversation=Decimal("0.002")),
    )
    agent = router.wrap(Agent("bot", smart))
    # Sonnet: ~300 expected output tokens × $15/M ≈ $0.0045 > $0.002; gpt-4o-mini fits.
    result = await agent.run("My webhooks stopped", context={"conversation_id": "c1"})
    assert result.output == "quick"
    assert result.metadata["tier"] == "fast"
    assert "downgraded from smart" in result.metadata["route_reason"]
    assert smart.calls == []


async def test_budget_overrun_raises_when_configured_or_nothing_fits() -> None:
    fast, smart = ScriptedModel(default="quick"), ScriptedModel(default="deep")
    registry = _registry(fast=(fast, "fast"), smart=(smart, "smart"))
    strict = RouterMiddleware(registry, budget=Budget(per_day=Decimal("0.002"), on_exceed="raise"))
    with pytest.raises(BudgetExceeded, match="daily budget"):
        await strict.wrap(Agent("bot", smart)).run("hi")
    broke = RouterMiddleware(registry, budget=Budget(per_day=Decimal("0.0000001")))
    with pytest.raises(BudgetExceeded):
        await broke.wrap(Agent("bot", smart)).run("hi")
    assert fast.calls == [] and smart.calls == []


async def test_daily_budget_counts_spending_of_earlier_processes(tmp_path: Path) -> None:
    fast = ScriptedModel(default="word " * 200)
    registry = _registry(fast=(fast, "fast"))
    first_tracker = SQLiteCostTracker(tmp_path / "costs.sqlite3")
    first = RouterMiddleware(registry, tracker=first_tracker)
    await first.wrap(Agent("bot", fast)).run("hi")
    spent = await first.tracker.spent_today()
    first_tracker.close()

    again = SQLiteCostTracker(tmp_path / "costs.sqlite3")  # as a restarted process would
    assert await again.spent_today() == spent > 0
    budget = Budget(per_day=spent, on_exceed="raise")
    with pytest.raises(BudgetExceeded):
        await (
            RouterMiddleware(registry, tracker=again, budget=budget)
            .wrap(Agent("bot", fast))
            .run("hi")
        )


async def test_a_prompt_too_long_for_a_model_goes_to_the_next_in_its_tier() -> None:
    small = ScriptedModel(default="small", model="small")
    large = ScriptedModel(default="large", model="large")
    registry = ModelRegistry()
    registry.register("small", small, tier="fast", max_input_tokens=50)
    registry.register("large", large, tier="fast", max_input_tokens=100_000)
    agent = RouterMiddleware(registry).wrap(Agent("bot", small))
    assert (await agent.run("short question")).output == "small"
    result = await agent.run("a very long message " * 40)
    assert result.output == "large"
    assert "small context too long" in result.metadata["route_reason"]
    assert len(small.calls) == 1
