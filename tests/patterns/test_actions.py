"""Safe actions: the policy decides in code, side effects happen once, calls are audited.

The ledger, the queue and the audit trail are a store's (`store_factory`: SQLite and
PostgreSQL); each new store instance stands for another process or a restart.
"""

import pytest

from pyagent_patterns import Agent, BoundedExecution, tool
from pyagent_patterns.actions import (
    ActionGate,
    AuditQuery,
    DefaultToolPolicy,
    ToolRequest,
    Verdict,
    handoff_tool,
    parse_condition,
)
from pyagent_patterns.chat import ConversationStore
from pyagent_providers import RateLimitError, ScriptedModel, ToolCall, UserError
from pyagent_router import CustomerProfile, RunContext, Signals

from .conftest import StoreFactory


class Payments:
    """A refund API that counts what it was asked to do."""

    def __init__(self) -> None:
        self.refunds: list[tuple[str, float, str]] = []

    def tool(self):  # noqa: ANN201
        @tool(grants={"refund"})
        def issue_refund(order_id: str, amount: float, idempotency_key: str) -> str:
            """Refund part or all of an order.

            Args:
                order_id: The order.
                amount: How much, in dollars.
            """
            self.refunds.append((order_id, amount, idempotency_key))
            return f"refunded ${amount:.2f} on {order_id}"

        return issue_refund


def refund_call(call_id: str = "c1", amount: float = 20.0) -> ToolCall:
    return ToolCall(
        id=call_id, name="issue_refund", arguments={"order_id": "A-1", "amount": amount}
    )


def gate_on(store: ConversationStore, **options: object) -> ActionGate:
    return ActionGate(
        ledger=store.actions,
        queue=store.escalations,
        audit=store.audit,
        **options,  # type: ignore[arg-type]
    )


async def test_a_refund_behind_a_429_and_a_retry_runs_once() -> None:
    payments = Payments()
    model = ScriptedModel(
        [
            refund_call("c1"),
            RateLimitError("slow down"),
            refund_call("c2"),
            "Your refund is on its way.",
        ]
    )
    agent = Agent("refunds", model, tools=[payments.tool()])
    bounded = BoundedExecution(
        agent, Agent("fallback", ScriptedModel(default="sorry")), backoff_seconds=0.01
    )

    result = await bounded.run("Please refund order A-1", context={"conversation_id": "c-1"})

    assert result.output == "Your refund is on its way."
    assert int(result.record.recovery_level) == 1
    assert len(payments.refunds) == 1
    assert payments.refunds[0][2].startswith("pyagent-")  # the tool got the call's key
    assert [call.outcome for call in result.record.tool_calls] == ["replayed"]


async def test_a_redelivered_message_runs_no_tool_twice(store_factory: StoreFactory) -> None:
    payments = Payments()
    context = RunContext(conversation_id="c-1", message_id="m-1")
    for worker in range(2):  # a redelivery, here to a second process on the same store
        agent = Agent("refunds", ScriptedModel([refund_call(), "Done."]), tools=[payments.tool()])
        with gate_on(store_factory()).active():
            result = await agent.run("Refund A-1 please", context=context)
        assert result.record.tool_calls[0].outcome == ("ok" if worker == 0 else "replayed")
    assert len(payments.refunds) == 1
    other_message = Agent(
        "refunds", ScriptedModel([refund_call(), "Done."]), tools=[payments.tool()]
    )
    with gate_on(store_factory()).active():
        await other_message.run("And again", context=context.with_(message_id="m-2"))
    assert len(payments.refunds) == 2  # a new message is a new request


async def test_the_model_claiming_high_confidence_is_still_denied() -> None:
    sent: list[str] = []

    @tool
    def send_reply(text: str, confidence: float) -> str:
        """Send the reply to the customer.

        Args:
            text: The reply.
            confidence: How sure you are.
        """
        sent.append(text)
        return "sent"

    call = ToolCall(id="c1", name="send_reply", arguments={"text": "Hi", "confidence": 0.99})
    agent = Agent("sender", ScriptedModel([call, "Drafted instead."]), tools=[send_reply])
    gate = ActionGate(policy=DefaultToolPolicy(deny_below=0.9))
    with gate.active():
        result = await agent.run("hello", context=RunContext(signals=Signals(confidence=0.42)))

    assert sent == []
    denied = result.record.tool_calls[0]
    assert denied.outcome == "denied" and "0.42 < 0.9" in denied.content


async def test_a_broken_policy_denies() -> None:
    payments = Payments()

    def policy(request: ToolRequest) -> Verdict:
        raise RuntimeError("boom")

    agent = Agent("refunds", ScriptedModel([refund_call(), "ok"]), tools=[payments.tool()])
    with ActionGate(policy=policy).active():
        result = await agent.run("refund")
    assert payments.refunds == [] and result.record.tool_calls[0].outcome == "denied"


async def test_an_approval_survives_a_restart_and_the_call_runs_once(
    store_factory: StoreFactory,
) -> None:
    payments = Payments()

    @tool(requires_approval=True)
    def close_account(account: str, idempotency_key: str) -> str:
        """Close an account.

        Args:
            account: The account id.
        """
        payments.refunds.append((account, 0.0, idempotency_key))
        return "closed"

    call = ToolCall(id="c1", name="close_account", arguments={"account": "acct-9"})
    context = RunContext(conversation_id="c-9", message_id="m-1")
    first = Agent("account", ScriptedModel([call]), tools=[close_account])
    with gate_on(store_factory()).active():
        waiting = await first.run("close my account", context=context)
    assert waiting.record.escalated and waiting.record.ticket_id is not None
    assert "approve" in waiting.output and payments.refunds == []
    restarted = store_factory()  # a restart: everything below is built afresh on the store
    case = await restarted.escalations.get(waiting.record.ticket_id)
    assert case is not None and case.status == "open" and case.metadata["tool"] == "close_account"
    await restarted.actions.decide(case.metadata["approval"], approved=True, by="dana")
    resumed = Agent(
        "account", ScriptedModel([call, "Your account is closed."]), tools=[close_account]
    )
    with gate_on(restarted).active():
        done = await resumed.run("close my account", context=context)
        again = await Agent("account", ScriptedModel([call, "Closed."]), tools=[close_account]).run(
            "close my account", context=context
        )
    assert done.output == "Your account is closed." and not done.record.escalated
    assert [c.outcome for c in again.record.tool_calls] == ["replayed"]
    assert len(payments.refunds) == 1


async def test_a_declined_call_tells_the_model(store_factory: StoreFactory) -> None:
    store = store_factory()
    payments = Payments()
    policy = DefaultToolPolicy(min_confidence=0.8)
    context = RunContext(conversation_id="c", message_id="m", signals=Signals(confidence=0.5))
    with gate_on(store, policy=policy).active():
        waiting = await Agent("r", ScriptedModel([refund_call()]), tools=[payments.tool()]).run(
            "refund", context=context
        )
    case = await store.escalations.get(waiting.record.ticket_id or "")
    assert case is not None
    await store_factory().actions.decide(  # the person, from another process
        case.metadata["approval"], approved=False, by="dana", note="over the limit"
    )
    with gate_on(store, policy=policy).active():
        result = await Agent(
            "r", ScriptedModel([refund_call(), "I can't refund that."]), tools=[payments.tool()]
        ).run("refund", context=context)
    assert payments.refunds == []
    assert "dana declined it: over the limit" in result.record.tool_calls[0].content


async def test_escalate_to_human_opens_one_case_however_often_the_turn_runs(
    store_factory: StoreFactory,
) -> None:
    call = ToolCall(id="h", name="escalate_to_human", arguments={"reason": "customer is upset"})
    context = RunContext(conversation_id="c-3", message_id="m-1")
    cases: set[str | None] = set()
    for _ in range(2):
        agent = Agent("general", ScriptedModel([call]), tools=[handoff_tool()])
        with gate_on(store_factory()).active():
            result = await agent.run("I want a person", context=context)
        assert result.record.escalated and result.record.escalation_reason == "customer is upset"
        cases.add(result.record.ticket_id)
    assert len(cases) == 1
    assert len(await store_factory().escalations.list()) == 1


async def test_a_dry_run_describes_side_effects_without_making_them() -> None:
    payments = Payments()
    agent = Agent(
        "refunds", ScriptedModel([refund_call(), "would refund"]), tools=[payments.tool()]
    )
    result = await agent.run("refund", context=RunContext(dry_run=True))
    assert payments.refunds == []
    assert result.record.tool_calls[0].outcome == "dry_run"


async def test_every_call_is_audited_with_redacted_arguments(store_factory: StoreFactory) -> None:

    @tool(read_only=True)
    def find_customer(email: str) -> str:
        """Look a customer up.

        Args:
            email: Their email.
        """
        return "found"

    async def redact(text: str) -> str:
        return text.replace("ana@example.com", "<EMAIL_ADDRESS_1>")

    call = ToolCall(id="f", name="find_customer", arguments={"email": "ana@example.com"})
    context = RunContext(conversation_id="c-5", message_id="m", signals=Signals(confidence=0.7))
    with gate_on(store_factory(), redact=redact).active():
        await Agent("a", ScriptedModel([call, "ok"]), tools=[find_customer]).run(
            "hi", context=context
        )
    audit = store_factory().audit
    events = await audit.query(
        AuditQuery(conversation_id="c-5", where=(parse_condition("confidence<0.9"),))
    )
    assert [e.data["tool"] for e in events] == ["find_customer"]
    assert events[0].data["arguments"] == {"email": "<EMAIL_ADDRESS_1>"}
    assert events[0].data["verdict"] == "allow" and events[0].data["outcome"] == "ok"
    assert b"ana@example.com" not in store_factory.dump()
    assert await audit.query(AuditQuery(where=(parse_condition("tool = other"),))) == []


def test_enterprise_customers_and_approval_tools_ask_a_person() -> None:
    policy = DefaultToolPolicy(enterprise_asks=True)
    request = ToolRequest(
        tool="issue_refund",
        read_only=False,
        requires_approval=False,
        arguments={},
        signals=Signals(confidence=0.99, customer=CustomerProfile(plan="Enterprise")),
    )
    assert policy.decide(request).kind == "ask"
    assert DefaultToolPolicy().decide(request).kind == "allow"


def test_a_bad_condition_is_a_clear_error() -> None:
    with pytest.raises(UserError, match="FIELD OP VALUE"):
        parse_condition("confidence is low")


async def test_a_call_worded_differently_on_retry_is_still_one_refund() -> None:
    refunds: list[str] = []

    @tool(identity=lambda arguments: str(arguments["order"]).split()[-1].upper())
    def refund_order(order: str) -> str:
        """Refund an order.

        Args:
            order: The order, in the customer's words.
        """
        refunds.append(order)
        return "refunded"

    first = ToolCall(id="a", name="refund_order", arguments={"order": "order ord-7"})
    again = ToolCall(id="b", name="refund_order", arguments={"order": "ORD-7"})
    model = ScriptedModel([first, RateLimitError("slow down"), again, "Done."])
    bounded = BoundedExecution(
        Agent("refunds", model, tools=[refund_order]),
        Agent("fallback", ScriptedModel(default="sorry")),
        backoff_seconds=0.01,
    )
    result = await bounded.run("refund ord-7")
    assert refunds == ["order ord-7"] and result.record.tool_calls[-1].outcome == "replayed"
