from decimal import Decimal

import pydantic
import pytest

from pyagent_patterns import Agent, Message
from pyagent_providers import (
    FunctionModel,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    ToolCall,
    Usage,
    UserError,
)


class Answer(pydantic.BaseModel):
    category: str


async def test_text_reply_with_metadata_usage_and_cost() -> None:
    llm = ScriptedModel(["Check Settings → Billing → Invoice history."])
    agent = Agent("billing_fast", llm, system_prompt="You are a billing agent.")
    result = await agent.run("Why was I charged twice?")
    assert result.output == "Check Settings → Billing → Invoice history."
    assert result.metadata["agent"] == "billing_fast"
    assert result.metadata["routed_model"] == "test:scripted"
    assert result.usage.output_tokens > 0 and result.cost == 0
    assert llm.calls[0].system == "You are a billing agent."
    assert [m.role for m in result.messages] == ["user", "assistant"]


async def test_priced_models_are_costed_from_reported_usage() -> None:
    reply = ModelResponse(
        text="ok",
        usage=Usage(input_tokens=1000, output_tokens=100),
        model="gpt-4o-mini",
        provider="openai",
    )
    result = await Agent("a", ScriptedModel([reply])).run("hi")
    assert result.cost == Decimal("0.00021")  # 1000 * 0.15/1M + 100 * 0.60/1M


async def test_multi_turn_input_and_system_messages() -> None:
    llm = ScriptedModel(["second answer"])
    conversation = [
        Message.system("Customer is on the Enterprise plan."),
        Message.user("Hi"),
        Message.assistant("Hello!"),
        Message.user("Can I add seats?"),
    ]
    await Agent("a", llm, system_prompt="Be brief.").run(conversation)
    request = llm.calls[0]
    assert request.system == "Be brief.\n\nCustomer is on the Enterprise plan."
    assert [m.role for m in request.messages] == ["user", "assistant", "user"]


async def test_structured_output_and_examples_travel_together() -> None:
    from pyagent_providers import Example

    llm = ScriptedModel([{"category": "billing"}])
    agent = Agent(
        "classifier",
        llm,
        output_type=Answer,
        examples=[Example(text="refund?", labels={"category": "billing"})],
    )
    result = await agent.run("charged twice")
    assert result.output == Answer(category="billing")
    assert llm.calls[0].examples[0].text == "refund?"


@pytest.mark.parametrize("bad", ["", "   ", [], b"bytes", 42, None, ["not a message"]])
async def test_bad_input_is_a_clear_user_error(bad: object) -> None:
    llm = ScriptedModel(["never"])
    with pytest.raises(UserError):
        await Agent("a", llm).run(bad)  # type: ignore[arg-type]
    assert llm.calls == []


async def test_tools_run_until_the_model_answers() -> None:
    looked_up: list[str] = []

    def lookup_invoice(number: str) -> str:
        """Find an invoice.

        Args:
            number: The invoice number, e.g. INV-7.
        """
        looked_up.append(number)
        return f"{number}: paid twice on 3 and 5 May"

    def answer(request: ModelRequest) -> object:
        if request.messages[-1].role == "tool":
            return f"Found it: {request.messages[-1].content}"
        return ToolCall(id="c1", name="lookup_invoice", arguments={"number": "INV-7"})

    llm = FunctionModel(answer)
    result = await Agent("a", llm, tools=[lookup_invoice]).run("Was INV-7 paid twice?")
    assert looked_up == ["INV-7"]
    assert result.output == "Found it: INV-7: paid twice on 3 and 5 May"
    spec = llm.calls[0].tools[0]
    assert spec.description == "Find an invoice."
    assert spec.parameters["properties"]["number"]["description"].startswith("The invoice number")
    assert [c.name for c in result.record.tool_calls] == ["lookup_invoice"]


async def test_tool_rounds_are_bounded() -> None:
    def ping() -> str:
        """Ping."""
        return "pong"

    llm = FunctionModel(
        lambda r: "done" if not r.tools else ToolCall(id="c", name="ping", arguments={})
    )
    result = await Agent("a", llm, tools=[ping], max_tool_rounds=2).run("loop forever")
    assert result.output == "done"
    assert len(llm.calls) == 3 and llm.calls[-1].tools == ()
