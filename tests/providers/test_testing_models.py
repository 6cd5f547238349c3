import pydantic
import pytest

from pyagent_providers import (
    LLM,
    FunctionModel,
    Message,
    ModelOutputError,
    ModelRequest,
    RateLimitError,
    ScriptedModel,
    StreamEnd,
    TextDelta,
    ToolCall,
    cost_of,
)
from pyagent_providers.testing import ScriptExhausted


class Route(pydantic.BaseModel):
    route: str


async def test_scripted_model_plays_its_script_and_records_calls() -> None:
    model = ScriptedModel(["first", {"route": "billing"}, RateLimitError("slow down")])
    assert isinstance(model, LLM)
    first = await model.complete(ModelRequest.of("hello", system="be nice"))
    assert first.text == "first" and first.model_id == "test:scripted"
    assert first.usage.input_tokens > 0 and first.usage.output_tokens == 1
    assert cost_of(first.usage, first.model_id) == 0
    structured = await model.complete(ModelRequest.of("classify", output=Route))
    assert structured.output == Route(route="billing")
    with pytest.raises(RateLimitError):
        await model.complete(ModelRequest.of("again"))
    with pytest.raises(ScriptExhausted):
        await model.complete(ModelRequest.of("more"))
    assert [call.messages[0].content for call in model.calls] == [
        "hello",
        "classify",
        "again",
        "more",
    ]
    assert model.calls[0].system == "be nice"


async def test_malformed_scripted_structured_output_is_reported() -> None:
    model = ScriptedModel(['{"route": 5}'])
    with pytest.raises(ModelOutputError) as caught:
        await model.complete(ModelRequest.of("classify", output=Route))
    assert caught.value.field == "route"


async def test_tool_calls_and_default_answer() -> None:
    call = ToolCall(id="c1", name="search_kb", arguments={"query": "refund"})
    model = ScriptedModel([[call]], default="done")
    first = await model.complete(ModelRequest.of("refund?"))
    assert first.tool_calls == (call,) and first.finish_reason == "tool_calls"
    assert (await model.complete(ModelRequest.of("x"))).text == "done"


async def test_streaming_yields_deltas_then_the_response() -> None:
    model = ScriptedModel(["Check your invoices, please."])
    events = [event async for event in model.stream(ModelRequest.of("charged twice"))]
    deltas = [event.text for event in events if isinstance(event, TextDelta)]
    assert "".join(deltas) == "Check your invoices, please." and len(deltas) == 4
    assert isinstance(events[-1], StreamEnd) and events[-1].response.usage.output_tokens > 0


async def test_function_model_sees_the_request_sync_or_async() -> None:
    def echo(request: ModelRequest) -> str:
        return request.messages[-1].content.upper()

    async def answer_async(request: ModelRequest) -> dict[str, str]:
        return {"route": "technical"}

    assert (await FunctionModel(echo).complete(ModelRequest.of("hi"))).text == "HI"
    conversation = [Message.user("a"), Message.assistant("b"), Message.user("c")]
    model = FunctionModel(answer_async)
    response = await model.complete(ModelRequest.of(conversation, output=Route))
    assert response.output == Route(route="technical")
    assert len(model.calls[0].messages) == 3
