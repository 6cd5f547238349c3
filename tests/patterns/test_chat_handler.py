"""ChatHandler on test doubles and real stores (the HTTP server is tested in tests/server).

Tests about what is stored run on both backends (`store_factory`: SQLite and PostgreSQL).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from pyagent_guardrails import GuardrailChain, PIIGuard, PlaceholderMap
from pyagent_patterns import (
    Agent,
    BoundedExecution,
    EscalationQueue,
    HumanDecision,
    HumanInTheLoop,
    RunResult,
    TalkerReasoner,
)
from pyagent_patterns.chat import (
    ChatHandler,
    ContextBudget,
    RateLimits,
    SQLiteConversationStore,
)
from pyagent_providers import (
    ConflictError,
    FunctionModel,
    Message,
    ModelRequest,
    ModelResponse,
    NotFoundError,
    ProviderConnectionError,
    ScriptedModel,
    StreamEvent,
    TextDelta,
    TooManyRequests,
    UserError,
)
from pyagent_router import DifficultyEstimate

from .conftest import StoreFactory


def echo(request: ModelRequest) -> str:
    """Says which message it answers and how many it saw."""
    return f"re: {request.messages[-1].content} ({len(request.messages)} messages)"


def handler(tmp_path: Path, system: Any = None, **options: Any) -> ChatHandler:
    system = system or Agent("bot", FunctionModel(echo))
    return ChatHandler(system, SQLiteConversationStore(tmp_path / "c.sqlite3"), **options)


def chat_on(stores: StoreFactory, system: Any = None, **options: Any) -> ChatHandler:
    """A handler on a new store instance of the backend (a new process, or a restart)."""
    return ChatHandler(system or Agent("bot", FunctionModel(echo)), stores(), **options)


async def test_turns_build_one_conversation_that_survives_a_restart(
    store_factory: StoreFactory,
) -> None:
    first = chat_on(store_factory)
    one = await first.reply("c1", "My invoice is wrong", "m1", user_id="u1")
    assert one.reply == "re: My invoice is wrong (1 messages)" and one.state == "bot"
    restarted = chat_on(store_factory)  # a new process: a new handler on the same data
    two = await restarted.reply("c1", "It shows two seats", "m2", user_id="u1")
    assert two.reply == "re: It shows two seats (3 messages)"
    history = [(m.author, m.content) for m in (await restarted.conversation("c1")).messages]
    assert history == [
        ("customer", "My invoice is wrong"),
        ("bot", one.reply),
        ("customer", "It shows two seats"),
        ("bot", two.reply),
    ]


async def test_a_redelivered_message_id_gets_the_stored_reply(
    store_factory: StoreFactory,
) -> None:
    model = FunctionModel(echo)
    chat = chat_on(store_factory, Agent("bot", model))
    first, again = await asyncio.gather(
        chat.reply("c1", "hello", "m1"), chat.reply("c1", "hello", "m1")
    )
    assert len(model.calls) == 1
    assert {first.duplicate, again.duplicate} == {False, True}
    assert first.reply == again.reply
    assert [m.author for m in (await chat.conversation("c1")).messages] == ["customer", "bot"]


async def test_a_message_stored_but_never_answered_is_answered_on_redelivery(
    store_factory: StoreFactory,
) -> None:
    outcomes: list[Any] = [RuntimeError("crash mid-turn"), "answered now"]
    chat = chat_on(store_factory, Agent("bot", FunctionModel(lambda r: outcomes.pop(0))))
    with pytest.raises(RuntimeError):
        await chat.reply("c1", "where is my refund?", "m1")
    reply = await chat.reply("c1", "where is my refund?", "m1")
    assert reply.reply == "answered now" and not reply.duplicate
    assert [m.author for m in (await chat.conversation("c1")).messages] == ["customer", "bot"]


async def test_a_hundred_concurrent_conversations_get_their_own_replies(
    store_factory: StoreFactory,
) -> None:
    chat = chat_on(store_factory, Agent("bot", FunctionModel(echo, delay=0.01)))
    replies = await asyncio.gather(*(chat.reply(f"c{i}", f"question {i}") for i in range(100)))
    assert [r.reply for r in replies] == [f"re: question {i} (1 messages)" for i in range(100)]


async def test_messages_to_one_conversation_are_serialised(store_factory: StoreFactory) -> None:
    # two handlers on two store instances: two processes sharing the conversations
    model = FunctionModel(echo, delay=0.02)
    chats = [chat_on(store_factory, Agent("bot", model)) for _ in range(2)]
    await asyncio.gather(*(chats[i % 2].reply("c1", f"part {i}", f"m{i}") for i in range(6)))
    messages = (await chats[0].conversation("c1")).messages
    assert len(messages) == 12
    # every bot reply answers the customer message just before it, having seen all before
    for customer, bot in zip(messages[::2], messages[1::2], strict=True):
        assert bot.in_reply_to == customer.message_id
        assert bot.content == f"re: {customer.content} ({customer.seq} messages)"


class Difficulties:
    """Rates each turn with the next scripted difficulty."""

    def __init__(self, *values: int) -> None:
        self.values = list(values)

    async def estimate(self, messages: Sequence[Message]) -> DifficultyEstimate:
        return DifficultyEstimate(difficulty=self.values.pop(0), estimator="scripted")


def tiered(*difficulties: int) -> TalkerReasoner:
    return TalkerReasoner(
        talker=Agent("talker", ScriptedModel(default="quick")),
        reasoner=Agent("reasoner", ScriptedModel(default="deep")),
        handoff_threshold=5,
        estimator=Difficulties(*difficulties),
    )


async def test_a_hard_conversation_holds_the_smart_tier_until_it_gets_easy(
    tmp_path: Path,
) -> None:
    chat = handler(tmp_path, tiered(7, 4, 2))
    hard, follow_up, thanks = [await chat.reply("c1", text) for text in ("a", "b", "c")]
    assert (hard.tier, hard.tier_reason) == ("smart", "difficulty 7 >= 5")
    assert follow_up.tier == "smart"
    assert follow_up.tier_reason == "held on smart: difficulty 4 >= release level 3"
    assert (thanks.tier, thanks.tier_reason) == ("fast", "difficulty 2 < 5")
    assert (await chat.conversation("c1")).tier == "fast"


async def test_without_a_hold_each_turn_chooses_afresh(tmp_path: Path) -> None:
    chat = handler(tmp_path, tiered(7, 4), tier_hold=None)
    assert [(await chat.reply("c1", t)).tier for t in ("a", "b")] == ["smart", "fast"]


async def test_older_turns_are_summarised_once_and_the_summary_is_stored(
    store_factory: StoreFactory,
) -> None:
    system_model = FunctionModel(echo)
    summarizer = FunctionModel(lambda r: "SUMMARY of the early turns")
    chat = chat_on(
        store_factory,
        Agent("bot", system_model),
        summarizer=Agent("summarizer", summarizer),
        context_budget=ContextBudget(max_tokens=120, keep_recent=2),
    )
    for i in range(6):
        await chat.reply("c1", f"message {i} " + "detail " * 10)
    conversation = await chat.conversation("c1")
    assert conversation.summary == "SUMMARY of the early turns"
    assert 0 < conversation.summary_upto < conversation.messages[-1].seq
    calls_so_far = len(summarizer.calls)
    assert 1 <= calls_so_far < 6  # not recomputed every turn
    last = system_model.calls[-1]
    assert "SUMMARY of the early turns" in (last.system or "")
    assert not any("message 0" in m.content for m in last.messages)  # folded into it
    assert "detail" in summarizer.calls[0].messages[-1].content  # it saw the old turns


async def test_without_a_summarizer_older_turns_are_trimmed(tmp_path: Path) -> None:
    model = FunctionModel(echo)
    chat = handler(
        tmp_path, Agent("bot", model), context_budget=ContextBudget(max_tokens=80, keep_recent=2)
    )
    for i in range(5):
        await chat.reply("c1", f"message {i} " + "detail " * 10)
    assert not any("message 0" in m.content for m in model.calls[-1].messages)
    assert len((await chat.conversation("c1")).messages) == 10  # history itself is kept whole


def pii_handler(stores: StoreFactory) -> ChatHandler:
    store = stores()
    placeholders = PlaceholderMap(salt=store.secret())
    guard = GuardrailChain([PIIGuard(redact=True, placeholders=placeholders)])
    return ChatHandler(
        Agent("bot", FunctionModel(echo)), store, guard=guard, placeholders=placeholders
    )


async def test_personal_data_keeps_its_placeholder_across_turns_and_restarts(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    first = pii_handler(store_factory)
    await first.reply("c1", "I'm Sarah Connor, sarah.connor@example.com", "m1")
    await first.reply("c1", "Also cc ops@example.org please", "m2")
    again = pii_handler(store_factory)  # restart: a new map, the same store secret
    await again.reply("c1", "Any news for sarah.connor@example.com?", "m3")
    customer = [
        m.content for m in (await again.conversation("c1")).messages if m.author == "customer"
    ]
    assert customer == [
        "I'm <PERSON_1>, <EMAIL_ADDRESS_1>",
        "Also cc <EMAIL_ADDRESS_2> please",
        "Any news for <EMAIL_ADDRESS_1>?",
    ]
    stored = store_factory.dump()
    for raw in (b"Sarah Connor", b"sarah.connor@example.com", b"ops@example.org"):
        assert raw not in stored
    if store_factory.backend == "sqlite":
        key = tmp_path / "c.sqlite3.key"
        assert os.stat(key).st_mode & 0o077 == 0  # the salt is readable by its owner only


def escalating(queue: EscalationQueue) -> tuple[HumanInTheLoop, FunctionModel]:
    model = FunctionModel(echo)

    def holding(output: str, metadata: dict[str, Any]) -> HumanDecision:
        return HumanDecision(approved=True, modified_output="A person will reply soon.")

    return (
        HumanInTheLoop(
            Agent("bot", model),
            holding,
            ["lawyer"],
            queue=queue,
        ),
        model,
    )


async def test_an_escalated_conversation_waits_for_a_person_who_can_hand_it_back(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    system, model = escalating(store.escalations)
    chat = ChatHandler(system, store)
    escalated = await chat.reply("c1", "I'm calling my lawyer", "m1", user_id="u1")
    assert escalated.escalated and escalated.state == "waiting_for_human"
    assert escalated.ticket_id and [c.id for c in (await chat.queue())] == ["c1"]

    calls = len(model.calls)
    waiting = await chat.reply("c1", "Hello? Anyone?", "m2", user_id="u1")
    assert len(model.calls) == calls  # no bot answer while a person has the case
    assert escalated.ticket_id in waiting.reply and waiting.state == "waiting_for_human"

    cases = chat.store.escalations  # the one record of the hand-off
    assert [c.id for c in await cases.list()] == [escalated.ticket_id]
    desk = chat_on(store_factory)  # the person works from another process (pyagent queue)
    assert (await desk.claim("c1", "alice")).state == "with_human"
    case = await cases.get(str(escalated.ticket_id))
    assert case is not None and (case.status, case.agent) == ("claimed", "alice")
    with pytest.raises(ConflictError, match="alice"):
        await chat.claim("c1", "bob")
    await chat.human_reply("c1", "alice", "Hi, I'm Alice from billing; I'll sort this out.")
    messages = (await chat.conversation("c1", user_id="u1")).messages
    assert [m.author for m in messages] == ["customer", "bot", "customer", "notice", "human"]
    assert messages[-1].name == "alice" and "Alice from billing" in messages[-1].content

    assert (await chat.hand_back("c1", "alice")).state == "bot"
    assert [c.status for c in await cases.list(status=None)] == ["resolved"]
    back = await chat.reply("c1", "Thanks, all good now", "m3", user_id="u1")
    assert back.state == "bot" and back.reply.startswith("re: Thanks, all good now")
    with pytest.raises(ConflictError):
        await chat.human_reply("c1", "alice", "one more thing")  # back with the bot


async def test_rate_limits_per_conversation_and_per_user(tmp_path: Path) -> None:
    chat = handler(tmp_path, limits=RateLimits(per_conversation=2, per_user=3))
    await chat.reply("c1", "one", "m1", user_id="u1")
    await chat.reply("c1", "two", "m2", user_id="u1")
    await chat.reply("c1", "two", "m2", user_id="u1")  # a redelivery is not a new message
    with pytest.raises(TooManyRequests, match="conversation") as refused:
        await chat.reply("c1", "three", "m3", user_id="u1")
    assert 0 < refused.value.retry_after <= 60
    await chat.reply("c2", "other conversation", user_id="u1")
    with pytest.raises(TooManyRequests, match="user"):
        await chat.reply("c3", "and another", user_id="u1")
    assert len((await chat.conversation("c1")).messages) == 4  # the refused message was not stored


@pytest.mark.parametrize(
    ("conversation_id", "text", "message_id", "error"),
    [
        ("c1", "   ", None, "empty"),
        ("c1", "x" * 8_001, None, "limit"),
        ("c1", 42, None, "text"),
        ("c1", "bad \ud800 surrogate", None, "UTF-8"),
        ("", "hi", None, "conversation_id"),
        ("../etc", "hi", None, "conversation_id"),
        ("c1", "hi", "m 1", "message_id"),
    ],
)
async def test_bad_input_is_refused_and_changes_nothing(
    tmp_path: Path, conversation_id: Any, text: Any, message_id: Any, error: str
) -> None:
    chat = handler(tmp_path)
    await chat.reply("c1", "first", "m0")
    with pytest.raises(UserError, match=error):
        await chat.reply(conversation_id, text, message_id)
    assert len((await chat.conversation("c1")).messages) == 2


async def test_another_users_conversation_is_out_of_bounds(store_factory: StoreFactory) -> None:
    chat = chat_on(store_factory)
    await chat.reply("c1", "mine", user_id="u1")
    with pytest.raises(NotFoundError, match="no conversation 'c1'"):  # as if missing
        await chat.reply("c1", "let me in", user_id="u2")
    with pytest.raises(NotFoundError, match="no conversation 'c1'"):
        await chat.conversation("c1", user_id="u2")
    assert len((await chat.conversation("c1")).messages) == 2


class DropsMidStream:
    """Streams a few words, then the connection drops."""

    model_id = "test:flaky"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        raise ProviderConnectionError("dropped", provider="test")

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        yield TextDelta("Half an ans")
        raise ProviderConnectionError("dropped mid-stream", provider="test")


async def test_streaming_sends_deltas_and_restarts_cleanly_after_a_failure(
    tmp_path: Path,
) -> None:
    system = BoundedExecution(
        pattern=Agent("bot", DropsMidStream()),
        fallback=Agent("fallback", ScriptedModel(default="The full fallback answer.")),
        max_retries=0,
        timeout_seconds=5,
    )
    chat = handler(tmp_path, system)
    events = [event async for event in chat.stream_reply("c1", "help", "m1")]
    kinds = [e.type for e in events]
    assert kinds[0] == "delta" and events[0].text == "Half an ans"
    assert "reset" in kinds and kinds[-1] == "done"
    after_reset = events[kinds.index("reset") + 1 : -1]
    assert "".join(e.text for e in after_reset) == "The full fallback answer."
    final = events[-1].reply
    assert final is not None and final.reply == "The full fallback answer."


async def test_streamed_text_is_the_reply_and_summaries_never_stream(tmp_path: Path) -> None:
    chat = handler(tmp_path)
    events = [e async for e in chat.stream_reply("c1", "how do I export?")]
    done = events[-1].reply
    assert done is not None
    assert "".join(e.text for e in events if e.type == "delta") == done.reply

    second = SQLiteConversationStore(tmp_path / "second" / "c.sqlite3")
    system, _ = escalating(second.escalations)
    chat = ChatHandler(system, second)
    events = [e async for e in chat.stream_reply("c9", "my lawyer will call")]
    deltas = "".join(e.text for e in events if e.type == "delta")
    assert deltas.startswith("A person will reply")  # the holding message, nothing else
    assert "reset" not in [e.type for e in events]


async def test_a_refused_stream_raises_before_any_event(tmp_path: Path) -> None:
    chat = handler(tmp_path)
    with pytest.raises(UserError, match="empty"):
        async for _ in chat.stream_reply("c1", ""):
            pass


async def test_a_refused_first_message_opens_no_conversation(
    store_factory: StoreFactory,
) -> None:
    chat = chat_on(store_factory, limits=RateLimits(per_user=1))
    with pytest.raises(UserError):
        await chat.reply("c1", "   ")
    await chat.reply("c2", "first", user_id="u1")
    with pytest.raises(TooManyRequests):
        await chat.reply("c3", "over the limit", user_id="u1")
    for never_opened in ("c1", "c3"):
        with pytest.raises(NotFoundError):
            await chat.conversation(never_opened)


class _AlwaysFails:
    """A system that never answers: BoundedExecution's holding notice every time."""

    async def run(self, input: Any, *, context: Any = None) -> RunResult:
        class Down:
            async def run(self, input: Any, *, context: Any = None) -> RunResult:
                raise RuntimeError("down")

        return await BoundedExecution(Down(), Down(), max_retries=0).run(input, context=context)


async def test_a_holding_notice_is_true_the_conversation_waits_for_a_person(
    store_factory: StoreFactory,
) -> None:
    chat = chat_on(store_factory, _AlwaysFails())
    first = await chat.reply("c1", "my export is broken")
    assert "our team will follow up" in first.reply and first.recovery_level == 3
    assert first.escalated and first.state == "waiting_for_human"
    assert [c.id for c in await chat.queue()] == ["c1"]  # a person will see it
    second = await chat.reply("c1", "hello?")
    assert "waiting for the next member of our team" in second.reply  # nobody claimed it yet
    await chat.claim("c1", "Dana")
    assert "Dana has it" in (await chat.reply("c1", "still there?")).reply


async def test_a_persons_own_name_stays_readable_in_their_reply(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    placeholders = PlaceholderMap(salt=store.secret())
    guard = GuardrailChain([PIIGuard(redact=True, placeholders=placeholders)])
    system, _ = escalating(store.escalations)
    chat = ChatHandler(system, store, guard=guard, placeholders=placeholders)
    await chat.reply("c1", "I'm calling my lawyer", "m1")
    await chat.human_reply(
        "c1", "Dana", "Hi, Dana here, I've fixed it. Robert Miller will call +1 415 555 0132."
    )
    await chat.human_reply("c1", "Dana", "— dana")
    person = [m for m in (await chat.conversation("c1")).messages if m.author == "human"]
    assert [m.content for m in person] == [
        "Hi, Dana here, I've fixed it. <PERSON_1> will call <PHONE_NUMBER_1>.",
        "— dana",
    ]
    assert b"Robert Miller" not in store_factory.dump()
