"""What every conversation store does alike, on SQLite and PostgreSQL (`store_factory`).

Each call of the factory opens another instance on the same data: another process.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from pyagent_patterns import EscalationQueue
from pyagent_patterns.actions import AuditEvent, AuditQuery, parse_condition
from pyagent_patterns.actions.ledger import ActionRecord
from pyagent_patterns.tools import ToolResult
from pyagent_providers import ConflictError, Message, NotFoundError, UserError

from .conftest import StoreFactory


async def test_conversations_keep_their_messages_and_refuse_duplicates(
    store_factory: StoreFactory,
) -> None:
    store = store_factory()
    created = await store.create("c1", user_id="u1")
    assert (created.id, created.user_id, created.state, created.messages) == ("c1", "u1", "bot", ())
    with pytest.raises(ConflictError):
        await store.create("c1", user_id="u1")
    first = await store.append("c1", author="customer", content="hi", message_id="m1")
    reply = await store.append(
        "c1", author="bot", content="hello", in_reply_to="m1", metadata={"route": "fast"}
    )
    assert (first.seq, reply.seq) == (1, 2)
    with pytest.raises(ConflictError):
        await store.append("c1", author="customer", content="hi again", message_id="m1")

    other = store_factory()  # another process reads what the first stored
    stored = await other.get("c1")
    assert stored is not None
    assert [(m.seq, m.author, m.content) for m in stored.messages] == [
        (1, "customer", "hi"),
        (2, "bot", "hello"),
    ]
    assert stored.reply_to("m1") == reply
    assert stored.messages[1].created_at == reply.created_at
    assert stored.messages[1].created_at.tzinfo is not None
    assert await other.get("missing") is None


async def test_updates_change_the_state_fields(store_factory: StoreFactory) -> None:
    store = store_factory()
    await store.create("c1", user_id=None)
    updated = await store.update("c1", tier="smart", summary="earlier", summary_upto=4)
    assert (updated.tier, updated.summary, updated.summary_upto) == ("smart", "earlier", 4)
    updated = await store.update("c1", placeholders={"digest-1": "<EMAIL_ADDRESS_1>"})
    assert updated.placeholders == {"digest-1": "<EMAIL_ADDRESS_1>"}
    assert (await store_factory().get("c1")) == updated
    with pytest.raises(NotFoundError):
        await store.update("missing", tier="fast")
    with pytest.raises(ValueError, match="user_id"):
        await store.update("c1", user_id="someone")


async def test_a_conversations_state_follows_its_case(store_factory: StoreFactory) -> None:
    store = store_factory()
    for name in ("c1", "c2", "c3"):
        await store.create(name, user_id=None)
    case = await store.escalations.put(
        summary="wants a person", reason="asked", conversation=[], conversation_id="c1"
    )
    await store.update("c1", ticket_id=case.id)
    other = await store.escalations.put(summary="s", reason="r", conversation=[])
    await store.update("c2", ticket_id=other.id)
    await store.escalations.set_status(other.id, "claimed", agent="dana")
    waiting = await store.in_states(("waiting_for_human", "with_human"))
    assert [(c.id, c.state, c.agent) for c in waiting] == [
        ("c1", "waiting_for_human", None),
        ("c2", "with_human", "dana"),
    ]
    assert [c.id for c in await store.in_states(("bot",))] == ["c3"]


async def test_the_secret_is_one_for_every_process(store_factory: StoreFactory) -> None:
    first, second = store_factory(), store_factory()
    assert first.secret() == second.secret() and len(first.secret()) == 32


# -- the human queue ---------------------------------------------------------------------


async def test_cases_are_listed_most_urgent_first_and_keyed_cases_are_queued_once(
    store_factory: StoreFactory,
) -> None:
    queue = store_factory().escalations
    low = await queue.put(summary="a", reason="r", conversation=[], priority="low")
    urgent = await queue.put(
        summary="b",
        reason="r",
        conversation=[Message.user("help"), Message.assistant("on it")],
        priority="urgent",
        conversation_id="c1",
        metadata={"draft": "text"},
        key="k1",
    )
    assert urgent.id.startswith("ESC-") and urgent.id != low.id
    assert [m.content for m in urgent.conversation] == ["help", "on it"]
    assert urgent.metadata == {"draft": "text"} and urgent.created_at.tzinfo is not None
    others = [store_factory().escalations for _ in range(2)]  # two more processes
    again = await asyncio.gather(
        *(queue.put(summary="b", reason="r", conversation=[], key="k1") for queue in others * 5)
    )
    assert {case.id for case in again} == {urgent.id}
    assert [c.id for c in await queue.list()] == [urgent.id, low.id]
    assert await queue.get(urgent.id) == urgent
    assert await queue.get("ESC-999999") is None
    with pytest.raises(UserError, match="no escalation"):
        await queue.set_status("ESC-999999", "resolved")


async def test_claim_next_takes_the_most_urgent_open_case(store_factory: StoreFactory) -> None:
    queue = store_factory().escalations
    normal = await queue.put(summary="a", reason="r", conversation=[])
    high = await queue.put(summary="b", reason="r", conversation=[], priority="high")
    taken = await queue.put(summary="c", reason="r", conversation=[], priority="urgent")
    await queue.set_status(taken.id, "claimed", agent="erin")
    first = await queue.claim_next("dana")
    assert first is not None and (first.id, first.status, first.agent) == (
        high.id,
        "claimed",
        "dana",
    )
    second = await queue.claim_next("farid")
    assert second is not None and (second.id, second.agent) == (normal.id, "farid")
    assert await queue.claim_next("dana") is None
    assert await queue.list() == []


async def test_concurrent_claimers_never_get_one_case_twice(store_factory: StoreFactory) -> None:
    queue = store_factory().escalations
    cases = [await queue.put(summary=f"s{i}", reason="r", conversation=[]) for i in range(12)]
    processes = [store_factory().escalations for _ in range(2)]

    async def work(name: str, queue: EscalationQueue) -> list[str]:
        taken: list[str] = []
        while (case := await queue.claim_next(name)) is not None:
            assert case.agent == name
            taken.append(case.id)
        return taken

    claimed = await asyncio.gather(
        *(work(f"agent{i}", processes[i % 2]) for i in range(4))  # two per process
    )
    every = [case for taken in claimed for case in taken]
    assert sorted(every) == sorted(c.id for c in cases)  # each case once, none twice
    assert {c.status for c in await queue.list(None)} == {"claimed"}


# -- the action ledger -------------------------------------------------------------------


async def test_a_key_begun_by_two_processes_at_once_runs_once(
    store_factory: StoreFactory,
) -> None:
    ledgers = [store_factory().actions for _ in range(2)]
    attempts = [(f"pyagent-{i}", ledger) for i in range(10) for ledger in ledgers]
    outcomes = await asyncio.gather(
        *(
            ledger.begin(ActionRecord(key=key, tool="issue_refund"), lease_seconds=60)
            for key, ledger in attempts
        )
    )
    runs = sorted(key for (key, _), (_, run) in zip(attempts, outcomes, strict=True) if run)
    assert runs == sorted(f"pyagent-{i}" for i in range(10))  # every key ran, each once
    assert all(record.status == "running" for record, _ in outcomes)

    result = ToolResult(name="issue_refund", content="done", ok=True, grants=frozenset({"refund"}))
    finished = await ledgers[0].finish("pyagent-0", result)
    assert finished.status == "done"
    stored = await ledgers[1].get("pyagent-0")
    assert stored is not None and stored.result == result
    again, run = await ledgers[1].begin(ActionRecord(key="pyagent-0", tool="issue_refund"))
    assert not run and again.result == result


async def test_a_call_whose_lease_ran_out_is_taken_over_once(store_factory: StoreFactory) -> None:
    ledgers = [store_factory().actions for _ in range(2)]
    record = ActionRecord(key="pyagent-x", tool="issue_refund")
    _, first = await ledgers[0].begin(record, lease_seconds=0)  # the worker died
    takeovers = await asyncio.gather(
        *(ledger.begin(record, lease_seconds=60) for ledger in ledgers * 3)
    )
    assert first and [run for _, run in takeovers].count(True) == 1


async def test_approvals_are_decided_once(store_factory: StoreFactory) -> None:
    ledger = store_factory().actions
    await ledger.begin(ActionRecord(key="k", tool="close_account"), lease_seconds=60)
    waiting = await ledger.await_approval("k", case_id="ESC-000001", note="needs a person")
    assert (waiting.status, waiting.case_id) == ("awaiting_approval", "ESC-000001")
    decided = await store_factory().actions.decide("k", approved=True, by="dana")
    assert (decided.status, decided.decided_by) == ("approved", "dana")
    with pytest.raises(ConflictError, match="not awaiting approval"):
        await ledger.decide("k", approved=False, by="erin")
    stored, run = await ledger.begin(ActionRecord(key="k", tool="close_account"))
    assert run and stored.status == "running"
    with pytest.raises(NotFoundError):
        await ledger.finish("unknown", ToolResult(name="t", content="", ok=True))


# -- the audit trail ---------------------------------------------------------------------


async def test_audit_queries_select_by_columns_and_data_keys(store_factory: StoreFactory) -> None:
    audit = store_factory().audit
    start = datetime(2026, 12, 1, tzinfo=UTC)
    await audit.record(
        AuditEvent(
            kind="decision",
            conversation_id="c1",
            message_id="m1",
            actor="billing",
            confidence=0.95,
            data={"route": "billing", "tier": "fast", "cost_usd": 0.002, "n": 5},
            at=start,
        ),
        AuditEvent(
            kind="tool_call",
            conversation_id="c1",
            message_id="m1",
            actor="issue_refund",
            data={"tool": "issue_refund", "outcome": "ok", "n": 12, "nested": {"level": 3}},
            at=start + timedelta(minutes=1),
        ),
        AuditEvent(
            kind="reply",
            conversation_id="c2",
            confidence=0.4,
            data={"sent": False, "n": "12"},
            at=start + timedelta(days=1),
        ),
        AuditEvent(kind="reply", conversation_id="c1", data={"sent": True}, at=start),
    )
    await audit.record()  # nothing to store

    async def seqs(*conditions: str, **options: Any) -> list[int | None]:
        where = tuple(parse_condition(c) for c in conditions)
        events = await store_factory().audit.query(AuditQuery(where=where, **options))
        return [event.seq for event in events]

    everything = await seqs()
    assert len(everything) == 4 and everything == sorted(everything)
    one, two, three, four = everything
    assert await seqs("confidence<0.9") == [three]
    assert await seqs("confidence>=0.9", "kind=decision") == [one]
    assert await seqs("actor != billing") == [two]
    assert await seqs("route = billing") == [one]
    assert await seqs("tool=issue_refund", "outcome=ok") == [two]
    assert await seqs("n < 6") == [one]  # numbers compare as numbers (5 < 6 < 12)
    # as in SQLite, any text ("12") sorts after every number
    assert await seqs("n > 6") == [two, three]
    assert await seqs("n != 5") == [two, three]  # no such key: no match
    assert await seqs("cost_usd <= 0.002") == [one]
    assert await seqs("sent = true") == [four]
    assert await seqs("sent = false") == [three]
    assert await seqs("nested.level = 3") == [two]
    assert await seqs("route = 'x'' OR 1=1 --") == []  # values are parameters, never SQL
    assert await seqs(conversation_id="c2") == [three]
    assert await seqs(kinds=("reply",)) == [three, four]
    assert await seqs(since=start + timedelta(hours=1)) == [three]
    assert await seqs(limit=2) == [one, two]
    events = await audit.query(AuditQuery(conversation_id="c1", kinds=("tool_call",)))
    assert events[0].data["nested"] == {"level": 3} and events[0].at == start + timedelta(minutes=1)
