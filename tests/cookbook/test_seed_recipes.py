"""The recipes of seeds 001, 003 and 004, offline on the local model and real SQLite.

Each demo is what ``pyagent demo --recipe NAME`` prints; the tests below also check the
guarantees behind its lines directly.
"""

from __future__ import annotations

import json
import secrets
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyagent_server import create_app
from pyagent_server.webhooks import sign

from pyagent_cookbook.recipes import branch_agents, kb_autoreply, ticket_automation
from pyagent_cookbook.recipes.shop import Shop
from pyagent_patterns.actions import AuditQuery, ToolRequest
from pyagent_router import Signals

pytestmark = pytest.mark.timeout(600)


async def test_branch_agents_refund_once_ask_for_large_refunds_and_hand_off(tmp_path: Path) -> None:
    shop = Shop.sample()
    handler = branch_agents.chat_handler(tmp_path / "c.sqlite3", shop=shop)
    text = "Please refund order ORD-10412, the licence was charged twice."
    first = await handler.reply("c1", text, "m1")
    again = await handler.reply("c1", text, "m1")  # a redelivery
    assert first.route == "refund" and again.duplicate
    assert [r.order_id for r in shop.refunds] == ["ORD-10412"]

    large = await handler.reply("c2", "Refund order ORD-10601 please, we cancelled.", "m1")
    assert large.escalated and len(shop.refunds) == 1  # $9600 waits for a person
    await handler.decide_approval("c2", "dana", approve=True)
    assert [r.order_id for r in shop.refunds] == ["ORD-10412", "ORD-10601"]

    person = await handler.reply(
        "c3", "I want to talk to a person now, this is the third time.", "m1"
    )
    assert person.state == "waiting_for_human"
    assert [c.id for c in await handler.queue()] == ["c3"]


def test_each_branch_has_only_its_own_tools() -> None:
    system = branch_agents.build_system(shop=Shop.sample())
    tools = {name: set(agent.tools) for name, agent in system.routes.items()}  # type: ignore[attr-defined]
    assert tools["refund"] == {"get_order", "issue_refund", "escalate_to_human"}
    assert tools["shipping"] == {"get_order", "get_tracking", "escalate_to_human"}
    assert tools["general"] == {"search_docs", "escalate_to_human"}


def test_the_refund_limit_reads_the_shop_not_the_model() -> None:
    policy = branch_agents.RefundLimit(Shop.sample(), limit=Decimal(500))

    def verdict(order: str) -> str:
        request = ToolRequest(
            tool="issue_refund", read_only=False, requires_approval=False,
            arguments={"order": order, "amount": 1}, signals=Signals(),
        )  # fmt: skip
        return policy.decide(request).kind

    assert verdict("ORD-10412") == "allow"
    assert verdict("refund ORD-10601, it is only $1") == "ask"
    assert verdict("ORD-99999") == "deny"


async def test_kb_autoreply_answers_duplicates_and_queues_the_rest_labelled(tmp_path: Path) -> None:
    handler = kb_autoreply.chat_handler(tmp_path / "t.sqlite3")
    known = await handler.reply("t1", "How can I download last month's invoice as a PDF?", "m1")
    assert known.route == "auto_reply" and known.state == "bot" and not known.held
    novel = await handler.reply("t2", "Do you sponsor open-source conferences in Lisbon?", "m1")
    assert novel.state == "waiting_for_human"
    case = await handler.store.escalations.get(novel.ticket_id or "")
    assert case is not None and case.metadata["labels"][0] in {"general", "feature_request"}
    replay = await handler.replay("t1")
    assert replay.now.record.route == "auto_reply"
    assert len(await handler.store.escalations.list(None)) == 1  # the replay opened none


async def test_ticket_automation_webhook_gate_tags_and_audit(tmp_path: Path) -> None:
    secret, token = secrets.token_bytes(32), "agent-token"
    handler = ticket_automation.chat_handler(tmp_path / "t.sqlite3")
    app = create_app(
        handler, customer_secret=secrets.token_bytes(32), agent_tokens={token: "dana"},
        webhook_secret=secret,
    )  # fmt: skip

    async def deliver(client: httpx.AsyncClient, event: tuple[str, ...]) -> httpx.Response:
        event_id, ticket, customer, subject, body = event
        payload = json.dumps(
            {"event_id": event_id, "ticket_id": ticket, "customer_id": customer,
             "subject": subject, "body": body}
        ).encode()  # fmt: skip
        headers = {"X-Pyagent-Signature": sign(secret, payload)}
        return await client.post("/v1/webhooks/tickets", content=payload, headers=headers)

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        replies: dict[str, dict[str, Any]] = {}
        for event in ticket_automation.EVENTS:
            response = await deliver(client, event)
            assert response.status_code == 200
            replies[event[1]] = response.json()["reply"]
        retried = (await deliver(client, ticket_automation.EVENTS[0])).json()
        audit = await client.get(
            "/v1/audit", params={"conversation_id": "ticket-T-502"},
            headers={"Authorization": f"Bearer {token}"},
        )  # fmt: skip
    assert not replies["T-501"]["held"] and replies["T-501"]["confidence"] >= 0.9
    assert (
        retried["status"] == "duplicate" and retried["reply"]["reply"] == replies["T-501"]["reply"]
    )
    assert all(replies[t]["held"] for t in ("T-502", "T-503", "T-504"))
    cases = {c.conversation_id: c for c in await handler.store.escalations.list()}
    assert "labelled retention" in cases["ticket-T-502"].metadata["held_because"]
    assert any("legal-review" in why for why in cases["ticket-T-503"].metadata["held_because"])
    assert any("enterprise" in why for why in cases["ticket-T-504"].metadata["held_because"])
    kinds = [e["kind"] for e in audit.json()["events"]]
    assert "decision" in kinds and "reply" in kinds
    events = await handler.store.audit.query(AuditQuery(kinds=("decision",)))
    assert len(events) == 4  # the retried delivery decided nothing again


@pytest.mark.parametrize("recipe", [branch_agents, kb_autoreply, ticket_automation])
async def test_the_demos_run_offline(recipe: object, capsys: pytest.CaptureFixture[str]) -> None:
    await recipe.demo()  # type: ignore[attr-defined]
    out = capsys.readouterr().out
    assert "Seed 00" in out and "Traceback" not in out
