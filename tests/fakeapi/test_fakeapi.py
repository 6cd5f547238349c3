"""Drive the fake server with the real ``openai`` and ``anthropic`` SDK clients."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import httpx2
import openai
import pydantic
import pytest
import pytest_asyncio

from tests.fakeapi import FakeAPI, RecordedRequest, Reply

USER = [{"role": "user", "content": "hi there"}]
WEATHER_TOOL_OPENAI: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}
WEATHER_TOOL_ANTHROPIC: Any = {
    "name": "get_weather",
    "description": "Weather for a city",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}


class Ticket(pydantic.BaseModel):
    category: str
    priority: int


@pytest.fixture
def api() -> Iterator[FakeAPI]:
    with FakeAPI(latency=0.0) as server:
        yield server


@pytest_asyncio.fixture
async def oai(api: FakeAPI) -> AsyncIterator[openai.AsyncOpenAI]:
    client = openai.AsyncOpenAI(api_key="test", base_url=api.openai_base_url, max_retries=0)
    yield client
    await client.close()


@pytest_asyncio.fixture
async def ant(api: FakeAPI) -> AsyncIterator[anthropic.AsyncAnthropic]:
    client = anthropic.AsyncAnthropic(
        api_key="test", base_url=api.anthropic_base_url, max_retries=0
    )
    yield client
    await client.close()


async def ask_openai(client: openai.AsyncOpenAI, **kwargs: Any) -> Any:
    return await client.chat.completions.create(model="gpt-test", messages=USER, **kwargs)


async def ask_anthropic(client: anthropic.AsyncAnthropic, **kwargs: Any) -> Any:
    return await client.messages.create(model="claude-test", max_tokens=64, messages=USER, **kwargs)


# -- plain text ----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_openai_text_and_usage(api: FakeAPI, oai: openai.AsyncOpenAI) -> None:
    api.script(Reply.text("hello", input_tokens=12, output_tokens=3, cached_tokens=4))
    resp = await ask_openai(oai)
    assert resp.choices[0].message.content == "hello"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.model == "gpt-test"
    assert resp.id.startswith("chatcmpl-")
    assert resp.usage.prompt_tokens == 12
    assert resp.usage.completion_tokens == 3
    assert resp.usage.total_tokens == 15
    assert resp.usage.prompt_tokens_details.cached_tokens == 4
    assert resp.usage.completion_tokens_details.reasoning_tokens == 0


@pytest.mark.asyncio
async def test_anthropic_text_and_usage(api: FakeAPI, ant: anthropic.AsyncAnthropic) -> None:
    api.script(Reply.text("hello", input_tokens=12, output_tokens=3, cached_tokens=4))
    msg = await ask_anthropic(ant)
    assert msg.content[0].type == "text"
    assert msg.content[0].text == "hello"
    assert msg.stop_reason == "end_turn"
    assert msg.model == "claude-test"
    assert msg.id.startswith("msg_")
    assert msg.usage.input_tokens == 8  # uncached input only, as the real API reports it
    assert msg.usage.cache_read_input_tokens == 4
    assert msg.usage.cache_creation_input_tokens == 0
    assert msg.usage.output_tokens == 3


@pytest.mark.asyncio
async def test_default_reply_echoes_last_user_message(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    messages: Any = [
        {"role": "user", "content": "first"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": [{"type": "text", "text": "second"}]},
    ]
    resp = await oai.chat.completions.create(model="m", messages=messages)
    assert resp.choices[0].message.content == "echo: second"
    msg = await ant.messages.create(model="m", max_tokens=8, messages=messages)
    assert msg.content[0].text == "echo: second"


# -- structured output and tool calls --------------------------------------------------------------


@pytest.mark.asyncio
async def test_openai_structured_and_raw_content(api: FakeAPI, oai: openai.AsyncOpenAI) -> None:
    api.script(
        Reply.structured({"category": "billing", "priority": 2}, input_tokens=7),
        Reply.raw_content('{"category": '),
    )
    parsed = await oai.chat.completions.parse(
        model="gpt-test", messages=USER, response_format=Ticket
    )
    assert parsed.choices[0].message.parsed == Ticket(category="billing", priority=2)
    assert parsed.usage is not None and parsed.usage.prompt_tokens == 7
    raw = await ask_openai(oai)
    assert raw.choices[0].message.content == '{"category": '


@pytest.mark.asyncio
async def test_anthropic_structured_uses_forced_tool(
    api: FakeAPI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.structured({"category": "billing", "priority": 2}), Reply.raw_content("{bad"))
    tool: Any = {"name": "record_ticket", "input_schema": Ticket.model_json_schema()}
    msg = await ask_anthropic(
        ant,
        tools=[WEATHER_TOOL_ANTHROPIC, tool],
        tool_choice={"type": "tool", "name": "record_ticket"},
    )
    block = msg.content[0]
    assert block.type == "tool_use"
    assert block.name == "record_ticket"
    assert block.input == {"category": "billing", "priority": 2}
    assert msg.stop_reason == "tool_use"
    raw = await ask_anthropic(ant)
    assert raw.content[0].text == "{bad"


@pytest.mark.asyncio
async def test_openai_tool_call(api: FakeAPI, oai: openai.AsyncOpenAI) -> None:
    api.script(Reply.tool_call("get_weather", {"city": "Paris"}, call_id="call_42"))
    resp = await ask_openai(oai, tools=[WEATHER_TOOL_OPENAI])
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls
    assert call.id == "call_42"
    assert call.type == "function"
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}


@pytest.mark.asyncio
async def test_anthropic_tool_call(api: FakeAPI, ant: anthropic.AsyncAnthropic) -> None:
    api.script(Reply.tool_call("get_weather", {"city": "Paris"}))
    msg = await ask_anthropic(ant, tools=[WEATHER_TOOL_ANTHROPIC])
    (block,) = msg.content
    assert block.type == "tool_use"
    assert (block.id, block.name, block.input) == ("call_1", "get_weather", {"city": "Paris"})
    assert msg.stop_reason == "tool_use"


# -- streaming -----------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_openai_stream_text_with_usage(api: FakeAPI, oai: openai.AsyncOpenAI) -> None:
    api.script(Reply.text("the quick brown fox", input_tokens=20, output_tokens=4, cached_tokens=8))
    stream = await ask_openai(oai, stream=True, stream_options={"include_usage": True})
    deltas: list[str] = []
    finish: list[str] = []
    usage = None
    async for chunk in stream:
        for choice in chunk.choices:
            deltas.append(choice.delta.content or "")
            if choice.finish_reason:
                finish.append(choice.finish_reason)
        if chunk.usage is not None:
            assert chunk.choices == []
            usage = chunk.usage
    assert "".join(deltas) == "the quick brown fox"
    assert len([d for d in deltas if d]) >= 4
    assert finish == ["stop"]
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (20, 4, 24)
    assert usage.prompt_tokens_details.cached_tokens == 8


@pytest.mark.asyncio
async def test_openai_stream_without_include_usage_has_no_usage(
    api: FakeAPI, oai: openai.AsyncOpenAI
) -> None:
    stream = await ask_openai(oai, stream=True)
    chunks = [chunk async for chunk in stream]
    assert all(chunk.usage is None for chunk in chunks)
    assert all(chunk.choices for chunk in chunks)


@pytest.mark.asyncio
async def test_openai_stream_helper_tool_call(api: FakeAPI, oai: openai.AsyncOpenAI) -> None:
    args = {"city": "San Francisco", "units": "celsius"}
    api.script(Reply.tool_call("get_weather", args))
    async with oai.chat.completions.stream(
        model="gpt-test",
        messages=USER,
        tools=[WEATHER_TOOL_OPENAI],
        stream_options={"include_usage": True},
    ) as stream:
        arg_deltas = [
            event.arguments_delta
            async for event in stream
            if event.type == "tool_calls.function.arguments.delta"
        ]
        final = await stream.get_final_completion()
    assert len(arg_deltas) > 1
    call = final.choices[0].message.tool_calls[0]
    assert (call.id, call.function.name) == ("call_1", "get_weather")
    assert json.loads(call.function.arguments) == args
    assert final.choices[0].finish_reason == "tool_calls"
    assert final.usage is not None and final.usage.total_tokens == 15


@pytest.mark.asyncio
async def test_anthropic_stream_text_with_usage(
    api: FakeAPI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.text("the quick brown fox", input_tokens=20, output_tokens=4, cached_tokens=8))
    async with ant.messages.stream(model="claude-test", max_tokens=64, messages=USER) as stream:
        pieces = [text async for text in stream.text_stream]
        final = await stream.get_final_message()
    assert "".join(pieces) == "the quick brown fox"
    assert len(pieces) >= 4
    assert final.content[0].text == "the quick brown fox"
    assert final.stop_reason == "end_turn"
    assert final.usage.input_tokens == 12
    assert final.usage.cache_read_input_tokens == 8
    assert final.usage.output_tokens == 4


@pytest.mark.asyncio
async def test_anthropic_raw_stream_events(api: FakeAPI, ant: anthropic.AsyncAnthropic) -> None:
    api.script(Reply.tool_call("get_weather", {"city": "San Francisco", "days": 3}))
    stream = await ask_anthropic(ant, stream=True, tools=[WEATHER_TOOL_ANTHROPIC])
    events = [event async for event in stream]
    types = [event.type for event in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    assert types.count("content_block_start") == types.count("content_block_stop") == 1
    partial = "".join(
        e.delta.partial_json
        for e in events
        if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
    )
    assert json.loads(partial) == {"city": "San Francisco", "days": 3}
    assert events[0].message.usage.input_tokens == 10
    assert events[-2].delta.stop_reason == "tool_use"
    assert events[-2].usage.output_tokens == 5


@pytest.mark.asyncio
async def test_anthropic_stream_helper_tool_use(
    api: FakeAPI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.structured({"category": "billing", "priority": 2}))
    async with ant.messages.stream(
        model="claude-test",
        max_tokens=64,
        messages=USER,
        tools=[WEATHER_TOOL_ANTHROPIC],
        tool_choice={"type": "tool", "name": "get_weather"},
    ) as stream:
        final = await stream.get_final_message()
    block = final.content[0]
    assert block.type == "tool_use" and block.name == "get_weather"
    assert block.input == {"category": "billing", "priority": 2}


# -- errors and failures -------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_rate_limit_with_retry_after(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.error(429, retry_after=0.2), Reply.error(429, retry_after=0.2))
    with pytest.raises(openai.RateLimitError) as oai_err:
        await ask_openai(oai)
    assert oai_err.value.response.headers["retry-after"] == "0.2"
    assert oai_err.value.status_code == 429
    with pytest.raises(anthropic.RateLimitError) as ant_err:
        await ask_anthropic(ant)
    assert ant_err.value.response.headers["retry-after"] == "0.2"
    assert ant_err.value.body["error"]["type"] == "rate_limit_error"


@pytest.mark.asyncio
async def test_server_error(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.error(500, message="boom"), Reply.error(500), Reply.error(529))
    with pytest.raises(openai.InternalServerError, match="boom"):
        await ask_openai(oai)
    with pytest.raises(anthropic.InternalServerError):
        await ask_anthropic(ant)
    with pytest.raises(anthropic.InternalServerError) as overloaded:
        await ask_anthropic(ant)
    assert overloaded.value.body["error"]["type"] == "overloaded_error"
    assert "retry-after" not in overloaded.value.response.headers


@pytest.mark.asyncio
async def test_authentication_errors(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.error(401), Reply.error(401))
    with pytest.raises(openai.AuthenticationError):
        await ask_openai(oai)
    with pytest.raises(anthropic.AuthenticationError) as scripted:
        await ask_anthropic(ant)
    assert scripted.value.body["error"]["type"] == "authentication_error"

    # Without credentials the server refuses by itself (and consumes no scripted reply).
    api.script(Reply.text("kept"))
    with pytest.raises(openai.AuthenticationError):
        await ask_openai(oai, extra_headers={"Authorization": openai.omit})
    no_key = {"Authorization": anthropic.omit, "X-Api-Key": anthropic.omit}
    with pytest.raises(anthropic.AuthenticationError):
        await ask_anthropic(ant, extra_headers=no_key)
    assert (await ask_openai(oai)).choices[0].message.content == "kept"


@pytest.mark.asyncio
async def test_slow_reply_times_out(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.text("late", delay=5.0), Reply.text("late", delay=5.0))
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        await ask_openai(oai.with_options(timeout=0.2))
    with pytest.raises(anthropic.APITimeoutError):
        await ask_anthropic(ant.with_options(timeout=0.2))
    assert time.monotonic() - start < 2.0


@pytest.mark.asyncio
async def test_drop_is_a_connection_error(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.drop(), Reply.drop(), Reply.drop_mid_stream("not streaming"))
    with pytest.raises(openai.APIConnectionError):
        await ask_openai(oai)
    with pytest.raises(anthropic.APIConnectionError):
        await ask_anthropic(ant)
    with pytest.raises(openai.APIConnectionError):
        await ask_openai(oai)
    assert (await ask_openai(oai)).choices[0].message.content == "echo: hi there"


@pytest.mark.asyncio
async def test_drop_mid_stream(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.drop_mid_stream("one two three four"), Reply.drop_mid_stream("one two three"))
    received: list[str] = []
    with pytest.raises(openai.APIConnectionError):
        async for chunk in await ask_openai(oai, stream=True):
            received.extend(c.delta.content or "" for c in chunk.choices)
    assert "".join(received).startswith("one")
    assert "".join(received) != "one two three four"

    texts: list[str] = []
    # The Anthropic SDK does not wrap transport errors raised while iterating a stream,
    # so the truncated chunked body surfaces as httpx2.RemoteProtocolError.
    with pytest.raises((httpx2.RemoteProtocolError, anthropic.APIConnectionError)):
        async with ant.messages.stream(model="c", max_tokens=8, messages=USER) as stream:
            async for text in stream.text_stream:
                texts.append(text)
    assert texts and "".join(texts) != "one two three"


def _raw_post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_unknown_path_and_invalid_json(api: FakeAPI) -> None:
    auth = {"Authorization": "Bearer test", "Content-Type": "application/json"}
    status, body = _raw_post(api.base_url + "/v1/nope", b"{}", auth)
    assert status == 404 and "error" in body
    status, body = _raw_post(api.openai_base_url + "/chat/completions", b"{not json", auth)
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    status, body = _raw_post(api.base_url + "/v1/messages", b"[", {"x-api-key": "k"})
    assert status == 400 and body["type"] == "error"
    assert api.requests[1].json is None


# -- recording, FIFO and concurrency -------------------------------------------------------------


@pytest.mark.asyncio
async def test_requests_recorded_and_script_shared_fifo(
    api: FakeAPI, oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    api.script(Reply.text("first"), Reply.text("second"))
    assert (await ask_anthropic(ant, system="be nice")).content[0].text == "first"
    assert (await ask_openai(oai, temperature=0.5)).choices[0].message.content == "second"
    first, second = api.requests
    assert isinstance(first, RecordedRequest)
    assert (first.method, first.path) == ("POST", "/v1/messages")
    assert first.json["system"] == "be nice" and first.json["messages"] == USER
    assert first.headers["authorization"] == "Bearer test"
    assert "anthropic-version" in first.headers
    assert (second.path, second.json["model"], second.json["temperature"]) == (
        "/v1/chat/completions",
        "gpt-test",
        0.5,
    )
    api.script(Reply.text("never used"))
    api.reset()
    assert api.requests == []
    assert (await ask_openai(oai)).choices[0].message.content == "echo: hi there"


@pytest.mark.asyncio
async def test_concurrent_requests_all_answered(
    oai: openai.AsyncOpenAI, ant: anthropic.AsyncAnthropic
) -> None:
    with FakeAPI(latency=0.2) as slow:
        o = oai.with_options(base_url=slow.openai_base_url)
        a = ant.with_options(base_url=slow.anthropic_base_url)

        async def one(i: int) -> str:
            msgs: Any = [{"role": "user", "content": f"n{i}"}]
            if i % 2:
                msg = await a.messages.create(model="c", max_tokens=8, messages=msgs)
                return msg.content[0].text
            resp = await o.chat.completions.create(model="g", messages=msgs)
            return resp.choices[0].message.content or ""

        start = time.monotonic()
        answers = await asyncio.gather(*(one(i) for i in range(20)))
        elapsed = time.monotonic() - start
    assert answers == [f"echo: n{i}" for i in range(20)]
    assert len(slow.requests) == 20
    assert elapsed < 2.0  # served in parallel, not 20 x 0.2 s
