"""One cost, read the same everywhere: RunResult, ChatReply, the tracker, cost-profile."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from pathlib import Path

from pyagent_guardrails import GuardrailChain, LengthGuard
from pyagent_patterns import Agent, ChatHandler, SQLiteConversationStore
from pyagent_providers import FunctionModel, ModelRequest, Usage, cost_of, priced
from pyagent_router import ModelRegistry, ProfiledQuery, RouterMiddleware, SQLiteCostTracker
from pyagent_router.cost_report import build_cost_profile

MINI = "openai:gpt-4o-mini"


def _router(tracker: SQLiteCostTracker) -> tuple[RouterMiddleware, FunctionModel]:
    stand_in = FunctionModel(lambda request: "Here is how to download your invoice.")
    registry = ModelRegistry()
    registry.register("fast", stand_in, tier="fast", priced_as=MINI)
    return RouterMiddleware(registry, tracker=tracker), stand_in


async def test_routed_agent_result_cost_is_the_tracked_cost() -> None:
    tracker = SQLiteCostTracker()
    router, model = _router(tracker)
    result = await router.wrap(Agent("bot", model)).run("where is my invoice?")
    [call] = await tracker.records()
    assert result.cost == call.cost > 0  # was 0 while metadata said 0.0000395
    assert result.metadata["cost_usd"] == str(result.cost)
    assert result.usage.cost_estimated and call.estimated  # a stand-in priced as another


async def test_chat_reply_tracker_and_cost_profile_agree(tmp_path: Path) -> None:
    tracker = SQLiteCostTracker()
    router, model = _router(tracker)
    handler = ChatHandler(
        router.wrap(Agent("bot", model)),
        SQLiteConversationStore(tmp_path / "c.sqlite3"),
        guard=GuardrailChain([LengthGuard(max_chars=1000)]),
        limits=None,
    )
    replies = [await handler.reply("c1", text) for text in ("invoice?", "and the receipt?")]
    calls = tuple(await tracker.records())
    profile = build_cost_profile(
        [ProfiledQuery(id="c1", category="billing", tier="fast", model=MINI, calls=calls)],
        per_day=1,
        cheap_model=MINI,
        expensive_model="anthropic:claude-sonnet-4",
    )
    total = sum((r.cost or Decimal(0) for r in replies), Decimal(0))
    assert total > 0
    assert total == await tracker.total() == sum((c.cost for c in calls), Decimal(0))
    assert profile.mean_cost == total  # one query: its mean is its cost
    assert [r.as_dict()["cost_usd"] for r in replies] == [str(r.cost) for r in replies]


def test_usage_sums_cost_once_and_unknown_stays_unknown() -> None:
    a = Usage(input_tokens=10, cost=Decimal("0.1"))
    b = Usage(input_tokens=5, cost=Decimal("0.2"), cost_estimated=True)
    assert (a + b).cost == Decimal("0.3") and (a + b).cost_estimated
    assert (a + Usage(cost=None)).cost is None  # one unpriced call: the total is unknown


async def test_an_unpriced_model_costs_unknown_not_zero() -> None:
    response = priced(
        replace(
            await FunctionModel(lambda r: "hi").complete(ModelRequest.of("x")),
            provider="acme",
            model="mystery-1",
        )
    )
    assert response.usage.cost is None
    known = priced(response, as_model=MINI)
    assert known.usage.cost == cost_of(response.usage, MINI) and known.usage.cost_estimated
