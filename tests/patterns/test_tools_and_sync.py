"""One tool loop: `@tool`, typed parameters, JSON results, ReAct on a routed agent, run_sync."""

from __future__ import annotations

import json

import pydantic
import pytest

from pyagent_patterns import Agent, ReAct, tool
from pyagent_providers import (
    ConfigurationError,
    FunctionModel,
    ModelRequest,
    ToolCall,
    UserError,
    infer_model,
)
from pyagent_router import ModelRegistry, RouterMiddleware, SQLiteCostTracker


class Order(pydantic.BaseModel):
    order_id: str
    status: str


@tool
def get_order(order_id: str) -> Order:
    """Look up an order.

    Args:
        order_id: The order's id, e.g. ORD-1.
    """
    return Order(order_id=order_id, status="shipped")


def look_up_then_answer(request: ModelRequest) -> object:
    observations = [m.content for m in request.messages if m.role == "tool"]
    if observations or not request.tools:
        return "Found: " + " | ".join(observations)
    return ToolCall(id="c1", name="get_order", arguments={"order_id": "ORD-1"})


def test_the_decorator_describes_the_function_and_keeps_it_callable() -> None:
    assert get_order.spec.name == "get_order"
    assert get_order.spec.parameters["properties"]["order_id"]["description"].startswith("The")
    assert get_order("ORD-9").status == "shipped"


def test_an_untyped_parameter_is_an_error_not_a_string() -> None:
    def lookup(order_id):  # type: ignore[no-untyped-def]  # noqa: ANN001
        return order_id

    with pytest.raises(UserError, match="order_id.*no type hint"):
        tool(lookup)  # pyright: ignore[reportUnknownArgumentType]


async def test_pydantic_results_reach_the_model_as_json() -> None:
    result = await Agent("bot", FunctionModel(look_up_then_answer), tools=[get_order]).run("ORD-1?")
    observation = result.output.removeprefix("Found: ")
    assert json.loads(observation) == {"order_id": "ORD-1", "status": "shipped"}
    assert result.metadata["tool_calls"] == [{"tool": "get_order", "ok": True}]


async def test_react_runs_on_a_router_wrapped_agent_and_keeps_its_costs() -> None:
    model = FunctionModel(look_up_then_answer)
    registry = ModelRegistry()
    registry.register("fast", model, tier="fast", priced_as="openai:gpt-4o-mini")
    tracker = SQLiteCostTracker()
    router = RouterMiddleware(registry, tracker=tracker)
    react = ReAct(router.wrap(Agent("orders", model)), tools=[get_order], max_steps=2)
    result = await react.run("where is ORD-1?")
    assert "shipped" in result.output
    assert result.metadata["steps"] == 1 and result.metadata["tier"] == "fast"
    records = await tracker.records()
    assert len(records) == 2 and {r.agent for r in records} == {"orders"}
    assert result.cost == sum(r.cost for r in records) > 0


async def test_when_the_steps_run_out_the_model_is_told_to_answer() -> None:
    def always_call(request: ModelRequest) -> object:
        if not request.tools:
            return "answer with what I have"
        return ToolCall(
            id=f"c{len(request.messages)}", name="get_order", arguments={"order_id": "X"}
        )

    result = await ReAct(Agent("a", FunctionModel(always_call)), [get_order], max_steps=2).run("?")
    assert result.output == "answer with what I have"
    assert result.metadata["max_steps_reached"] and result.metadata["steps"] == 2
    assert "used all your tool calls" in result.messages[-2].content


def test_run_sync_runs_any_pattern_without_an_event_loop() -> None:
    agent = Agent("a", FunctionModel(lambda request: "hello"))
    assert agent.run_sync("hi").output == "hello"


async def test_run_sync_inside_an_event_loop_says_to_await() -> None:
    with pytest.raises(UserError, match="await"):
        Agent("a", FunctionModel(lambda request: "x")).run_sync("hi")


def test_agent_takes_a_provider_model_string() -> None:
    assert Agent("a", "local:embedded").llm.model_id.startswith("local:")
    with pytest.raises(ConfigurationError, match="unknown provider"):
        infer_model("acme:model-1")
