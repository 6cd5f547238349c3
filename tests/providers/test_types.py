import pytest

from pyagent_providers import Message, ModelRequest, ModelResponse, ToolCall, Usage, UserError


def test_message_constructors_as_the_seed_uses_them() -> None:
    assert Message.user("hi") == Message("user", "hi")
    assert Message.assistant("ok").role == "assistant"
    assert Message.system("rules").role == "system"
    reply = Message.tool("42", tool_call_id="call_1")
    assert (reply.role, reply.tool_call_id) == ("tool", "call_1")


def test_messages_are_frozen_and_validated() -> None:
    message = Message.user("hi")
    with pytest.raises(AttributeError):
        message.content = "changed"  # type: ignore[misc]
    with pytest.raises(UserError, match="role"):
        Message("customer", "hi")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="content must be str"):
        Message.user(b"bytes")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="tool_call_id"):
        Message("tool", "result")


def test_request_needs_messages_and_stores_tuples() -> None:
    request = ModelRequest.of([Message.user("a"), Message.assistant("b")], system="s")
    assert isinstance(request.messages, tuple) and len(request.messages) == 2
    with pytest.raises(UserError, match="at least one message"):
        ModelRequest(messages=())
    with pytest.raises(UserError, match="Message objects"):
        ModelRequest(messages=("hello",))  # type: ignore[arg-type]


def test_usage_adds_up_and_response_becomes_a_message() -> None:
    total = Usage(input_tokens=10, output_tokens=2) + Usage(
        input_tokens=5, output_tokens=1, cached_input_tokens=3
    )
    assert (total.input_tokens, total.output_tokens, total.cached_input_tokens) == (15, 3, 3)
    assert total.total_tokens == 18
    call = ToolCall(id="c1", name="lookup", arguments={"q": "x"})
    response = ModelResponse(text="", tool_calls=(call,), model="gpt-4o-mini", provider="openai")
    assert response.model_id == "openai:gpt-4o-mini"
    assert response.to_message() == Message.assistant("", tool_calls=[call])
