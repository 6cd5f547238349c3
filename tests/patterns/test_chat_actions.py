"""The chat handler's safe actions: one side effect per message, held drafts, approvals,
replays and the audit trail, on both stores (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from pyagent_guardrails import GuardrailChain, PromiseGuard
from pyagent_patterns import Agent, RunResult, tool
from pyagent_patterns.actions import AuditQuery, DefaultToolPolicy, handoff_tool
from pyagent_patterns.chat import ChatHandler, SendPolicy, SQLiteConversationStore
from pyagent_providers import ConflictError, Message, ScriptedModel, ToolCall
from pyagent_router import CustomerProfile
from pyagent_router.context import ContextArg

from .conftest import StoreFactory


class Refunds:
    def __init__(self) -> None:
        self.done: list[str] = []

    def tool(self) -> Any:
        @tool(grants={"refund"})
        def issue_refund(order_id: str, idempotency_key: str) -> str:
            """Refund an order.

            Args:
                order_id: The order.
            """
            self.done.append(order_id)
            return f"refunded {order_id}"

        return issue_refund


REFUND = ToolCall(id="r", name="issue_refund", arguments={"order_id": "A-1"})


class Scored:
    """A system whose turns carry a computed confidence (as the cookbook's triage gives)."""

    def __init__(self, agent: Agent, confidence: float) -> None:
        self.agent, self.confidence = agent, confidence

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        result = await self.agent.run(input, context=context)
        return result.with_metadata(confidence=self.confidence)


def chat(stores: StoreFactory, system: Any, **options: Any) -> ChatHandler:
    """A handler on a new store instance (another process, or a restart)."""
    return ChatHandler(system, stores(), **options)


async def test_a_message_redelivered_after_a_crash_refunds_once(
    store_factory: StoreFactory,
) -> None:
    refunds = Refunds()
    model = ScriptedModel([REFUND, RuntimeError("worker died"), REFUND, "Refunded A-1."])
    handler = chat(store_factory, Agent("billing", model, tools=[refunds.tool()]))
    with pytest.raises(RuntimeError):
        await handler.reply("c1", "Refund A-1 please", "m1")
    restarted = chat(store_factory, Agent("billing", model, tools=[refunds.tool()]))
    reply = await restarted.reply("c1", "Refund A-1 please", "m1")
    assert reply.reply == "Refunded A-1." and refunds.done == ["A-1"]
    again = await restarted.reply("c1", "Refund A-1 please", "m1")
    assert again.duplicate and refunds.done == ["A-1"]


async def test_a_redelivered_hand_off_opens_one_case(store_factory: StoreFactory) -> None:
    call = ToolCall(id="h", name="escalate_to_human", arguments={"reason": "wants a person"})
    handler = chat(
        store_factory, Agent("general", ScriptedModel([call, call]), tools=[handoff_tool()])
    )
    store = handler.store
    original = store.append
    failures = [RuntimeError("crash before the reply was stored")]

    async def append_failing_once(conversation_id: str, **fields: Any) -> Any:
        if fields["author"] == "bot" and failures:
            raise failures.pop()
        return await original(conversation_id, **fields)

    store.append = append_failing_once  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        await handler.reply("c1", "Get me a human", "m1")
    reply = await handler.reply("c1", "Get me a human", "m1")
    assert reply.escalated and reply.state == "waiting_for_human"
    assert len(await store.escalations.list(None)) == 1
    # later messages wait for the person, the bot does not answer them
    later = await handler.reply("c1", "hello?", "m2")
    assert later.state == "waiting_for_human" and "added this to your case" in later.reply


async def test_a_low_confidence_reply_waits_as_a_draft_a_person_sends(
    store_factory: StoreFactory,
) -> None:
    system = Scored(Agent("bot", ScriptedModel(["Try resetting your password."])), 0.55)
    handler = chat(store_factory, system, send_policy=SendPolicy(min_confidence=0.9))
    reply = await handler.reply("c1", "I can't log in", "m1")
    assert reply.held and reply.state == "waiting_for_human"
    assert "Try resetting" not in reply.reply and reply.ticket_id in reply.reply
    case = await handler.store.escalations.get(reply.ticket_id or "")
    assert case is not None and case.metadata["draft"] == "Try resetting your password."
    assert "confidence 0.55 is below 0.9" in case.metadata["held_because"][0]

    sent = await handler.send_draft("c1", "dana", "Please reset your password from the login page.")
    assert sent.author == "human" and sent.in_reply_to == "m1"
    conversation = await handler.conversation("c1")
    assert conversation.state == "bot"
    with pytest.raises(ConflictError, match="has no draft"):
        await handler.send_draft("c1", "dana")


async def test_enterprise_replies_are_never_sent_automatically(store_factory: StoreFactory) -> None:
    system = Scored(Agent("bot", ScriptedModel(default="Here is how.")), 0.99)
    handler = chat(
        store_factory,
        system,
        send_policy=SendPolicy(min_confidence=0.9),
        customer_profile=lambda user: CustomerProfile(customer_id=user, plan="enterprise"),
    )
    reply = await handler.reply("c1", "How do I export?", "m1", user_id="acme")
    assert reply.held
    sent = await handler.send_draft("c1", "dana")  # as it is
    assert sent.author == "bot" and sent.content == "Here is how."
    plain = chat(store_factory, system, send_policy=SendPolicy(min_confidence=0.9))
    assert not (await plain.reply("c2", "How do I export?", "m1", user_id="small")).held


async def test_an_approval_survives_a_restart_and_the_turn_resumes(
    store_factory: StoreFactory,
) -> None:
    refunds = Refunds()

    def system() -> Agent:
        model = ScriptedModel([REFUND, "Your refund of A-1 is done."])
        return Agent("billing", model, tools=[refunds.tool()])

    policy = DefaultToolPolicy(min_confidence=0.95)  # this turn has no measured confidence
    first = chat(store_factory, system(), tool_policy=policy)
    waiting = await first.reply("c1", "Refund A-1", "m1")
    assert waiting.escalated and "approve" in waiting.reply and refunds.done == []

    restarted = chat(store_factory, system(), tool_policy=policy)  # a restart
    assert [c.id for c in await restarted.queue()] == ["c1"]
    resumed = await restarted.decide_approval("c1", "dana", approve=True)
    assert resumed.reply == "Your refund of A-1 is done." and resumed.state == "bot"
    assert refunds.done == ["A-1"]
    again = await restarted.reply("c1", "Refund A-1", "m1")
    assert again.duplicate and again.reply == resumed.reply and refunds.done == ["A-1"]
    actions = [
        e.data.get("action")
        for e in await restarted.store.audit.query(AuditQuery(kinds=("human_action",)))
    ]
    assert actions == ["approved"]


async def test_a_replay_acts_on_nothing_and_opens_no_case(store_factory: StoreFactory) -> None:
    refunds = Refunds()
    model = ScriptedModel([REFUND, "Refunded.", REFUND, "Refunded (replay)."])
    handler = chat(store_factory, Agent("billing", model, tools=[refunds.tool()]))
    await handler.reply("c1", "Refund A-1", "m1")
    events_before = await handler.store.audit.query(AuditQuery())
    replay = await handler.replay("c1")
    assert replay.then is not None and replay.then.content == "Refunded."
    assert replay.now.output == "Refunded (replay)."
    assert [c.outcome for c in replay.now.record.tool_calls] == ["replayed"]
    assert refunds.done == ["A-1"]
    assert await handler.store.audit.query(AuditQuery()) == events_before
    assert {e.kind for e in replay.then_events} == {"tool_call", "decision", "reply"}
    assert await handler.store.escalations.list(None) == []


async def test_the_audit_trail_has_every_decision_and_call(store_factory: StoreFactory) -> None:
    refunds = Refunds()
    model = ScriptedModel([REFUND, "Refunded."])
    handler = chat(store_factory, Scored(Agent("billing", model, tools=[refunds.tool()]), 0.8))
    await handler.reply("c1", "Refund A-1", "m1")
    events = await handler.store.audit.query(AuditQuery(conversation_id="c1"))
    assert [e.kind for e in events] == ["tool_call", "decision", "reply"]
    call, decision, reply = events
    assert call.data["tool"] == "issue_refund" and call.data["outcome"] == "ok"
    assert call.data["idempotency_key"].startswith("pyagent-")
    assert decision.confidence == 0.8 and decision.data["tool_calls"] == ["issue_refund"]
    assert reply.data["sent"] is True


async def test_a_promised_refund_no_tool_granted_waits_as_a_draft(
    store_factory: StoreFactory,
) -> None:
    refunds = Refunds()
    promise = "I've issued a full refund to your card; it will arrive in 3 days."
    model = ScriptedModel([promise, REFUND, promise])
    guard = GuardrailChain([PromiseGuard()])
    handler = chat(
        store_factory,
        Agent("billing", model, tools=[refunds.tool()]),
        send_policy=SendPolicy(guard=guard),
    )
    unbacked = await handler.reply("c1", "Refund A-1", "m1")
    assert unbacked.held and promise not in unbacked.reply
    case = await handler.store.escalations.get(unbacked.ticket_id or "")
    assert case is not None and "refund" in case.metadata["held_because"][0]
    backed = await handler.reply("c2", "Refund A-1", "m1")  # issue_refund granted it
    assert not backed.held and backed.reply == promise and refunds.done == ["A-1"]


async def test_one_turn_is_one_trace_without_content(tmp_path: Path) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from pyagent_providers.telemetry import use_tracer_provider

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    refunds = Refunds()
    handler = ChatHandler(
        Agent("billing", ScriptedModel([REFUND, "Done."]), tools=[refunds.tool()]),
        SQLiteConversationStore(tmp_path / "c.sqlite3"),
    )
    with use_tracer_provider(provider):
        await handler.reply("c1", "Refund A-1 for jane@example.com", "m1")
    spans = {span.name: span for span in exporter.get_finished_spans()}
    turn, call = spans["invoke_agent support"], spans["execute_tool issue_refund"]
    assert call.parent is not None and call.parent.span_id == turn.context.span_id
    assert dict(call.attributes or {})["pyagent.tool.outcome"] == "ok"
    values = [str(v) for span in spans.values() for v in (span.attributes or {}).values()]
    assert not any("jane@example.com" in v or "Refund A-1" in v for v in values)


async def test_a_turn_cut_short_is_answered_before_the_next_question(
    store_factory: StoreFactory,
) -> None:
    model = ScriptedModel([RuntimeError("worker died"), "answer 1", "answer 2", "answer 2 again"])
    handler = chat(store_factory, Agent("bot", model))
    with pytest.raises(RuntimeError):
        await handler.reply("c1", "first question", "m1")
    second = await handler.reply("c1", "second question", "m2")
    assert second.reply == "answer 2"
    redelivered = await handler.reply("c1", "first question", "m1")
    assert redelivered.duplicate and redelivered.reply == "answer 1"
    messages = (await handler.conversation("c1")).messages
    assert [(m.author, m.in_reply_to or m.message_id) for m in messages] == [
        ("customer", "m1"),
        ("customer", "m2"),
        ("bot", "m1"),
        ("bot", "m2"),
    ]
