"""The real OpenAI and Anthropic SDK providers against the local wire-format server."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from enum import StrEnum

import pydantic
import pytest

from pyagent_providers import (
    AnthropicLLM,
    AuthenticationError,
    Message,
    ModelOutputError,
    ModelRequest,
    ModelSettings,
    OpenAICompatibleLLM,
    OpenAILLM,
    ProviderConnectionError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RetryPolicy,
    StreamEnd,
    TextDelta,
    ToolSpec,
    cost_of,
)
from pyagent_providers._sdk_provider import SDKProvider
from tests.fakeapi import FakeAPI, Reply

SECRET = "sk-test-4f9a1c-do-not-log"
FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)

MakeProvider = Callable[..., SDKProvider[object]]


def make_openai(api: FakeAPI, **options: object) -> SDKProvider[object]:
    options = {"api_key": SECRET, "retry": FAST_RETRY, **options}
    return OpenAILLM("gpt-4o-mini", base_url=api.openai_base_url, **options)  # type: ignore[arg-type,return-value]


def make_anthropic(api: FakeAPI, **options: object) -> SDKProvider[object]:
    options = {"api_key": SECRET, "retry": FAST_RETRY, **options}
    return AnthropicLLM(
        "claude-sonnet-4-20250514",
        base_url=api.anthropic_base_url,
        **options,  # type: ignore[arg-type]
    )  # type: ignore[return-value]


both = pytest.mark.parametrize("make", [make_openai, make_anthropic], ids=["openai", "anthropic"])


class Category(StrEnum):
    billing = "billing"
    technical = "technical"
    account = "account"


class Classification(pydantic.BaseModel):
    """How a support query is classified."""

    category: Category
    confidence: float


LOOKUP = ToolSpec(
    name="lookup_invoice",
    description="Find an invoice by its number.",
    parameters={
        "type": "object",
        "properties": {"number": {"type": "string"}},
        "required": ["number"],
    },
)


@both
async def test_plain_text_with_usage_and_cost(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(
        Reply.text("Check Settings → Billing.", input_tokens=120, output_tokens=8, cached_tokens=20)
    )
    llm = make(fakeapi)
    response = await llm.complete(
        ModelRequest.of("Why was I charged twice?", system="You are a billing agent.")
    )
    assert response.text == "Check Settings → Billing."
    assert response.provider == llm.provider and response.model_id.startswith(llm.provider)
    usage = response.usage
    assert (usage.input_tokens, usage.output_tokens, usage.cached_input_tokens) == (120, 8, 20)
    assert cost_of(usage, response.model_id) > 0
    assert response.latency_s > 0
    body = fakeapi.requests[-1].json
    assert body["model"] == llm.model
    texts = str(body["messages"]) + str(body.get("system", ""))
    assert "You are a billing agent." in texts and "Why was I charged twice?" in texts


@both
async def test_structured_output_parses_into_the_model(
    fakeapi: FakeAPI, make: MakeProvider
) -> None:
    fakeapi.script(Reply.structured({"category": "billing", "confidence": 0.93}))
    response = await make(fakeapi).complete(
        ModelRequest.of("Why was I charged twice?", output=Classification)
    )
    assert response.output == Classification(category=Category.billing, confidence=0.93)
    body = fakeapi.requests[-1].json
    if "response_format" in body:  # OpenAI: strict JSON schema
        assert body["response_format"]["json_schema"]["strict"] is True
        assert body["response_format"]["json_schema"]["schema"]["additionalProperties"] is False
    else:  # Anthropic: a forced tool
        assert body["tool_choice"] == {"type": "tool", "name": "Classification"}


@both
async def test_malformed_structured_output_names_the_field(
    fakeapi: FakeAPI, make: MakeProvider
) -> None:
    fakeapi.script(Reply.structured({"category": "weather", "confidence": 0.5}))
    with pytest.raises(ModelOutputError, match="'category'") as caught:
        await make(fakeapi).complete(ModelRequest.of("hi", output=Classification))
    assert caught.value.field == "category"
    assert len(fakeapi.requests) == 1  # a model's bad answer is not a transport retry


async def test_malformed_json_from_openai_is_a_clear_error(fakeapi: FakeAPI) -> None:
    fakeapi.script(Reply.raw_content('{"category": "billing", "confid'))
    with pytest.raises(ModelOutputError, match="not valid JSON"):
        await make_openai(fakeapi).complete(ModelRequest.of("hi", output=Classification))


@both
async def test_tool_call_round_trip(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(
        Reply.tool_call("lookup_invoice", {"number": "INV-7"}, call_id="call_42"),
        Reply.text("Invoice INV-7 was paid twice; a refund is on its way."),
    )
    llm = make(fakeapi)
    conversation = [Message.user("Was INV-7 paid twice?")]
    first = await llm.complete(ModelRequest.of(conversation, tools=[LOOKUP]))
    assert [(c.id, c.name, dict(c.arguments)) for c in first.tool_calls] == [
        ("call_42", "lookup_invoice", {"number": "INV-7"})
    ]
    conversation += [first.to_message(), Message.tool("paid twice", tool_call_id="call_42")]
    second = await llm.complete(ModelRequest.of(conversation, tools=[LOOKUP]))
    assert second.text.startswith("Invoice INV-7 was paid twice")
    sent = str(fakeapi.requests[-1].json["messages"])
    assert "call_42" in sent and "paid twice" in sent
    if llm.provider == "anthropic":
        assert "tool_result" in sent
    else:
        assert "'role': 'tool'" in sent


@both
async def test_streaming_ends_with_usage(fakeapi: FakeAPI, make: MakeProvider) -> None:
    reply = "Webhook failures after an update usually mean a changed signing secret."
    fakeapi.script(Reply.text(reply, input_tokens=40, output_tokens=13))
    events = [e async for e in make(fakeapi).stream(ModelRequest.of("webhooks stopped"))]
    deltas = [e.text for e in events if isinstance(e, TextDelta)]
    assert len(deltas) > 1 and "".join(deltas) == reply
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert end.response.text == reply
    assert (end.response.usage.input_tokens, end.response.usage.output_tokens) == (40, 13)


@both
async def test_streamed_tool_call(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.tool_call("lookup_invoice", {"number": "INV-9"}))
    events = [e async for e in make(fakeapi).stream(ModelRequest.of("INV-9?", tools=[LOOKUP]))]
    end = events[-1]
    assert isinstance(end, StreamEnd)
    assert [dict(c.arguments) for c in end.response.tool_calls] == [{"number": "INV-9"}]


@both
async def test_429_is_retried_after_retry_after(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.error(429, retry_after=0.3), Reply.text("ok"))
    started = time.monotonic()
    response = await make(fakeapi).complete(ModelRequest.of("hi"))
    assert response.text == "ok"
    assert len(fakeapi.requests) == 2
    # Our own backoff here is ≤ 0.05 s, so waiting this long means Retry-After was honoured.
    assert time.monotonic() - started >= 0.3


@both
async def test_500_twice_then_success(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.error(500), Reply.error(503), Reply.text("recovered"))
    response = await make(fakeapi).complete(ModelRequest.of("hi"))
    assert response.text == "recovered"
    assert len(fakeapi.requests) == 3


@both
async def test_5xx_until_attempts_run_out(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(*[Reply.error(500) for _ in range(3)])
    with pytest.raises(ProviderHTTPError) as caught:
        await make(fakeapi).complete(ModelRequest.of("hi"))
    assert caught.value.status_code == 500 and len(fakeapi.requests) == 3


@both
async def test_401_is_mapped_and_not_retried(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.error(401, message="invalid x-api-key"))
    llm = make(fakeapi)
    with pytest.raises(AuthenticationError) as caught:
        await llm.complete(ModelRequest.of("hi"))
    assert caught.value.status_code == 401 and not caught.value.retryable
    assert len(fakeapi.requests) == 1
    assert SECRET not in str(caught.value) and SECRET not in repr(llm)


@both
async def test_400_is_not_retried(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.error(400, message="messages: field required"))
    with pytest.raises(ProviderHTTPError, match="field required"):
        await make(fakeapi).complete(ModelRequest.of("hi"))
    assert len(fakeapi.requests) == 1


@both
async def test_timeout(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.text("too late", delay=2.0))
    llm = make(fakeapi, timeout=0.2, retry=RetryPolicy(max_attempts=1))
    with pytest.raises(ProviderTimeoutError, match="0.2s"):
        await llm.complete(ModelRequest.of("hi"))


@both
async def test_per_call_timeout_then_retry_succeeds(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.text("too late", delay=2.0), Reply.text("in time"))
    request = ModelRequest.of("hi", settings=ModelSettings(timeout=0.2))
    assert (await make(fakeapi).complete(request)).text == "in time"


@both
async def test_dropped_connection_is_retried(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.drop(), Reply.text("second try"))
    assert (await make(fakeapi).complete(ModelRequest.of("hi"))).text == "second try"


@both
async def test_drop_mid_stream_is_raised_not_retried(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.drop_mid_stream("one two three four five six seven eight"))
    seen: list[str] = []
    with pytest.raises(ProviderConnectionError):
        async for event in make(fakeapi).stream(ModelRequest.of("hi")):
            if isinstance(event, TextDelta):
                seen.append(event.text)
    assert seen and len(fakeapi.requests) == 1


@both
async def test_stream_failure_before_first_delta_is_retried(
    fakeapi: FakeAPI, make: MakeProvider
) -> None:
    fakeapi.script(Reply.error(429, retry_after=0.05), Reply.text("streamed"))
    events = [e async for e in make(fakeapi).stream(ModelRequest.of("hi"))]
    assert isinstance(events[-1], StreamEnd) and events[-1].response.text == "streamed"


@both
async def test_logs_carry_no_secret_and_no_content(
    fakeapi: FakeAPI, make: MakeProvider, caplog: pytest.LogCaptureFixture
) -> None:
    fakeapi.script(Reply.error(500), Reply.text("Your card ending 4242 was refunded."))
    with caplog.at_level(logging.DEBUG):
        await make(fakeapi).complete(ModelRequest.of("my email is jane@example.com"))
    logged = caplog.text
    assert "answered in" in logged and "retry 1" in logged
    for secret in (SECRET, "jane@example.com", "4242"):
        assert secret not in logged


async def test_injected_clients_get_sdk_retries_switched_off(fakeapi: FakeAPI) -> None:
    import openai

    client = openai.AsyncOpenAI(api_key=SECRET, base_url=fakeapi.openai_base_url, max_retries=5)
    llm = OpenAILLM("gpt-4o-mini", client=client, retry=RetryPolicy(max_attempts=1))
    fakeapi.script(Reply.error(500), Reply.text("never reached"))
    with pytest.raises(ProviderHTTPError):
        await llm.complete(ModelRequest.of("hi"))
    assert len(fakeapi.requests) == 1


async def test_compatible_endpoint_with_json_object_mode(fakeapi: FakeAPI) -> None:
    llm = OpenAICompatibleLLM(
        "llama-3.1-8b-instant",
        fakeapi.openai_base_url,
        "GROQ_API_KEY",
        provider="groq",
        structured_output="json_object",
        api_key=SECRET,
    )
    fakeapi.script(Reply.structured({"category": "account", "confidence": 0.7}))
    response = await llm.complete(ModelRequest.of("reset my SSO", output=Classification))
    assert response.output.category == Category.account
    assert response.model_id == "groq:llama-3.1-8b-instant"
    body = fakeapi.requests[-1].json
    assert body["response_format"] == {"type": "json_object"}
    assert "JSON schema" in body["messages"][0]["content"]


def test_presets_and_missing_keys() -> None:
    llm = OpenAICompatibleLLM.preset("groq", "llama-3.1-8b-instant")
    assert llm.base_url == "https://api.groq.com/openai/v1" and llm.model_id.startswith("groq:")
    with pytest.raises(Exception, match="GROQ_API_KEY"):
        llm.client()
    assert OpenAICompatibleLLM.preset("ollama", "llama3.2").client() is not None  # keyless
    with pytest.raises(Exception, match="unknown preset"):
        OpenAICompatibleLLM.preset("nowhere", "m")


def test_model_names_as_the_seed_writes_them() -> None:
    assert OpenAILLM("gpt-4o-mini").model_id == "openai:gpt-4o-mini"
    assert OpenAILLM("openai:gpt-4o-mini").model == "gpt-4o-mini"
    assert AnthropicLLM("claude-sonnet-4-20250514").model_id == (
        "anthropic:claude-sonnet-4-20250514"
    )
    assert "sk-" not in repr(OpenAILLM("gpt-4o-mini", api_key="sk-secret"))


@both
async def test_reasoning_tokens_are_captured(fakeapi: FakeAPI, make: MakeProvider) -> None:
    fakeapi.script(Reply.text("42", output_tokens=50, reasoning_tokens=30))
    usage = (await make(fakeapi).complete(ModelRequest.of("think"))).usage
    assert (usage.output_tokens, usage.reasoning_tokens) == (50, 30)
    fakeapi.script(Reply.text("42", output_tokens=50, reasoning_tokens=30))
    events = [e async for e in make(fakeapi).stream(ModelRequest.of("think"))]
    assert isinstance(events[-1], StreamEnd)
    assert events[-1].response.usage.reasoning_tokens == 30


async def test_client_side_rate_limit_spaces_calls(fakeapi: FakeAPI) -> None:
    import asyncio

    llm = make_openai(fakeapi, requests_per_second=4.0)
    started = time.monotonic()
    await asyncio.gather(*(llm.complete(ModelRequest.of(f"q{i}")) for i in range(6)))
    # 6 calls at 4/s: the last two must wait for the first one-second window to pass.
    assert time.monotonic() - started >= 1.0
    assert len(fakeapi.requests) == 6
