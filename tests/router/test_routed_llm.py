"""Routing at the model layer: a failed call falls back alone, tool calls are not redone."""

from __future__ import annotations

from pyagent_patterns import Agent, tool
from pyagent_providers import FunctionModel, ModelRequest, ProviderError, ToolCall
from pyagent_router import ModelRegistry, RouterMiddleware
from pyagent_router.tiers import choose_tier

refunds: list[str] = []


@tool
def issue_refund(order_id: str) -> str:
    """Refund an order.

    Args:
        order_id: The order.
    """
    refunds.append(order_id)
    return f"refunded {order_id}"


def flaky(request: ModelRequest) -> object:
    if any(m.role == "tool" for m in request.messages):
        raise ProviderError("503 after the tool ran", provider="test")
    return ToolCall(id="c1", name="issue_refund", arguments={"order_id": "A-1"})


async def test_a_fallback_repeats_the_failed_call_not_the_refund() -> None:
    refunds.clear()
    first, second = (
        FunctionModel(flaky, model="first"),
        FunctionModel(lambda r: "done", model="second"),
    )
    registry = ModelRegistry()
    registry.register("first", first, tier="fast")
    registry.register("second", second, tier="fast")
    agent = RouterMiddleware(registry).wrap(Agent("refunds", first, tools=[issue_refund]))
    result = await agent.run("refund order A-1 please")
    assert result.output == "done" and refunds == ["A-1"]  # the refund ran once
    assert result.record.registry_model == "second"
    assert "fallback: first failed (ProviderError)" in result.record.tier_reason


def test_one_rule_turns_difficulty_into_a_tier() -> None:
    assert choose_tier(7, threshold=5).tier == "smart"
    assert choose_tier(3, threshold=5).tier == "fast"
    held = choose_tier(4, threshold=5, hold_tier="smart", release_below=3)
    assert held.tier == "smart" and "held" in held.reason


async def test_a_cooled_down_fallback_keeps_its_probe_when_it_was_not_needed() -> None:
    from pyagent_providers import ScriptedModel
    from pyagent_router.breaker import CircuitBreaker

    now = [0.0]
    first = ScriptedModel(default="first", model="first")
    second = ScriptedModel(default="second", model="second")
    registry = ModelRegistry()
    registry.register(
        "first", first, tier="fast", breaker=CircuitBreaker(1, 10, clock=lambda: now[0])
    )
    spare = registry.register(
        "second", second, tier="fast", breaker=CircuitBreaker(1, 10, clock=lambda: now[0])
    )
    spare.breaker.failed()  # open
    now[0] = 11  # cooled down: half-open, one probe to lend
    agent = RouterMiddleware(registry).wrap(Agent("bot", first))
    assert (await agent.run("hi")).output == "first"
    assert spare.breaker.allow()  # its probe was not spent on a call that never happened
