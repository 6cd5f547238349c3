import pytest

from pyagent_patterns import Agent, ReAct
from pyagent_providers import FunctionModel, ModelRequest, ToolCall, UserError


def search_kb(query: str, top_k: int = 3) -> str:
    """Search the help centre.

    Args:
        query: What to look for.
        top_k: How many articles to return.
    """
    if "explode" in query:
        raise RuntimeError("index offline")
    return f"{top_k} articles about {query}"


async def order_status(order_id: str) -> dict[str, str]:
    """Look up an order."""
    return {"order": order_id, "status": "shipped"}


def tool_then_answer(request: ModelRequest) -> object:
    observations = [m for m in request.messages if m.role == "tool"]
    if not request.tools or len(observations) >= 2:
        return "Final: " + " | ".join(m.content for m in observations)
    if not observations:
        return ToolCall(id="c1", name="search_kb", arguments={"query": "webhooks"})
    return ToolCall(id="c2", name="order_status", arguments={"order_id": "ORD-1"})


async def test_sync_and_async_tools_round_trip() -> None:
    llm = FunctionModel(tool_then_answer)
    react = ReAct(
        Agent("tech_kb", llm), tools={"search_kb": search_kb, "order_status": order_status}
    )
    result = await react.run("webhooks broken and where is ORD-1?")
    assert result.output == (
        'Final: 3 articles about webhooks | {"order":"ORD-1","status":"shipped"}'
    )
    assert result.metadata["steps"] == 2 and result.metadata["max_steps_reached"] is False
    schema = llm.calls[0].tools[0].parameters
    assert schema["required"] == ["query"] and schema["properties"]["top_k"]["default"] == 3


async def test_tool_errors_and_bad_arguments_become_observations() -> None:
    def answer(request: ModelRequest) -> object:
        seen = [m.content for m in request.messages if m.role == "tool"]
        if len(seen) == 0:
            return ToolCall(id="a", name="search_kb", arguments={"query": "explode"})
        if len(seen) == 1:
            return ToolCall(id="b", name="search_kb", arguments={"top_k": "many"})
        if len(seen) == 2:
            return ToolCall(id="c", name="no_such_tool", arguments={})
        return " || ".join(seen)

    result = await ReAct(Agent("a", FunctionModel(answer)), tools=[search_kb], max_steps=5).run("x")
    first, second, third = result.output.split(" || ")
    assert first == "error: search_kb failed: RuntimeError: index offline"
    assert second.startswith("error: invalid arguments for search_kb: query: Field required")
    assert third == "error: there is no tool 'no_such_tool'"
    assert [c["ok"] for c in result.metadata["tool_calls"]] == [False, False, False]


async def test_running_out_of_steps_ends_with_an_answer() -> None:
    def always_search(request: ModelRequest) -> object:
        if not request.tools:
            return "Here is what I could find so far."
        return ToolCall(id="x", name="search_kb", arguments={"query": "loop"})

    llm = FunctionModel(always_search)
    result = await ReAct(Agent("a", llm), tools=[search_kb], max_steps=3).run("loop")
    assert result.output == "Here is what I could find so far."
    assert result.metadata["max_steps_reached"] is True and result.metadata["steps"] == 3
    assert len(llm.calls) == 4
    assert "used all your tool calls" in llm.calls[-1].messages[-1].content


def test_max_steps_must_be_positive() -> None:
    with pytest.raises(UserError):
        ReAct(Agent("a", FunctionModel(lambda r: "x")), tools=[search_kb], max_steps=0)
