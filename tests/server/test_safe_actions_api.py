"""Safe actions over HTTP: the audit trail, approvals, held drafts and the ticket webhook."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyagent_server import SIGNATURE_HEADER, create_app, sign
from pyagent_server.models import ReplyOut, WebhookOut

from pyagent_cli.serve import webhook_secret
from pyagent_patterns import Agent, RunResult, tool
from pyagent_patterns.actions import DefaultToolPolicy
from pyagent_patterns.chat import ChatHandler, SendPolicy, SQLiteConversationStore
from pyagent_providers import FunctionModel, Message, ScriptedModel, ToolCall, UserError
from pyagent_router.context import ContextArg
from tests.server.conftest import PERSON, PERSON_TOKEN, SECRET, Server, customer

ALICE = customer("alice")
HOOK_SECRET = b"webhook-secret-0123456789"
REFUND = ToolCall(id="r", name="issue_refund", arguments={"order_id": "A-1"})


class Scored:
    """A system whose turns carry a computed confidence (as the cookbook's triage gives)."""

    def __init__(self, agent: Agent, confidence: float) -> None:
        self.agent, self.confidence = agent, confidence

    async def run(self, input: str | Sequence[Message], *, context: ContextArg = None) -> RunResult:
        result = await self.agent.run(input, context=context)
        return result.with_metadata(confidence=self.confidence)


def refund_agent(model: ScriptedModel, done: list[str]) -> Agent:
    @tool(grants={"refund"})
    def issue_refund(order_id: str, idempotency_key: str) -> str:
        """Refund an order.

        Args:
            order_id: The order.
        """
        done.append(order_id)
        return f"refunded {order_id}"

    return Agent("billing", model, tools=[issue_refund])


def echo() -> Agent:
    return Agent("bot", FunctionModel(lambda request: "echo: " + request.messages[-1].content))


def serve(handler: ChatHandler, *, webhook_secret: bytes | None = None) -> Iterator[httpx.Client]:
    app = create_app(
        handler,
        customer_secret=SECRET,
        agent_tokens={PERSON_TOKEN: "Dana"},
        webhook_secret=webhook_secret,
    )
    with Server(app) as running, httpx.Client(base_url=running.url, timeout=30) as client:
        yield client


def store(tmp_path: Path) -> SQLiteConversationStore:
    return SQLiteConversationStore(tmp_path / "c.sqlite3")


@pytest.fixture
def refunds() -> list[str]:
    return []


@pytest.fixture
def approvals(tmp_path: Path, refunds: list[str]) -> Iterator[httpx.Client]:
    """A billing bot whose refunds wait for a person (the turn has no measured confidence)."""
    # the resumed turn runs again: the model asks for the refund again, and now it runs
    model = ScriptedModel([REFUND, REFUND, "Your refund of A-1 is done."])
    handler = ChatHandler(
        refund_agent(model, refunds),
        store(tmp_path),
        tool_policy=DefaultToolPolicy(min_confidence=0.95),
    )
    yield from serve(handler)


@pytest.fixture
def drafts(tmp_path: Path) -> Iterator[httpx.Client]:
    """A bot whose answers (confidence 0.55) wait as drafts under a 0.9 threshold."""
    agent = Agent("bot", ScriptedModel(default="Try resetting your password."))
    handler = ChatHandler(
        Scored(agent, 0.55), store(tmp_path), send_policy=SendPolicy(min_confidence=0.9)
    )
    yield from serve(handler)


@pytest.fixture
def webhooks(tmp_path: Path) -> Iterator[httpx.Client]:
    yield from serve(ChatHandler(echo(), store(tmp_path)), webhook_secret=HOOK_SECRET)


def post(client: httpx.Client, conversation: str, text: str, **extra: Any) -> dict[str, Any]:
    response = client.post(
        f"/v1/conversations/{conversation}/messages", json={"text": text, **extra}, headers=ALICE
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_an_approval_resumes_the_turn_and_the_audit_shows_it(
    approvals: httpx.Client, refunds: list[str]
) -> None:
    waiting = post(approvals, "c1", "Refund order A-1 please", message_id="m1")
    assert waiting["escalated"] and refunds == []
    nothing = approvals.post("/v1/queue/c1/draft", json={"text": None}, headers=PERSON)
    assert nothing.status_code == 409 and "no draft" in nothing.json()["error"]
    assert approvals.post("/v1/queue/c1/approve", headers=ALICE).status_code == 403

    resumed = approvals.post("/v1/queue/c1/approve", json={"note": "verified"}, headers=PERSON)
    assert resumed.status_code == 200, resumed.text
    reply = ReplyOut.model_validate(resumed.json())
    assert reply.reply == "Your refund of A-1 is done." and reply.state == "bot"
    assert refunds == ["A-1"]
    again = approvals.post("/v1/queue/c1/decline", headers=PERSON)
    assert again.status_code == 409 and "awaiting approval" in again.json()["error"]

    events = approvals.get("/v1/audit", params={"conversation_id": "c1"}, headers=PERSON)
    assert events.status_code == 200, events.text
    kinds = [
        (e["kind"], e["data"].get("outcome") or e["data"].get("action"))
        for e in events.json()["events"]
    ]
    assert ("tool_call", "awaiting_approval") in kinds and ("tool_call", "ok") in kinds
    assert ("human_action", "approved") in kinds and ("decision", None) in kinds
    decided = {"kind": "human_action", "where": "action=approved"}
    people = approvals.get("/v1/audit", params=decided, headers=PERSON).json()
    assert [(e["actor"], e["data"]["note"]) for e in people["events"]] == [("Dana", "verified")]


def test_the_audit_is_for_people_and_filters_by_condition(drafts: httpx.Client) -> None:
    post(drafts, "c1", "I can't log in", message_id="m1")
    refused = drafts.get("/v1/audit", headers=ALICE)
    assert refused.status_code == 403 and "support staff" in refused.json()["error"]
    assert drafts.get("/v1/audit").status_code == 401

    def audit(**params: Any) -> httpx.Response:
        return drafts.get("/v1/audit", params=params, headers=PERSON)

    low = audit(where=["confidence<0.9", "kind=decision"]).json()["events"]
    assert [(e["kind"], e["confidence"]) for e in low] == [("decision", 0.55)]
    assert audit(where="confidence>=0.9").json() == {"events": []}
    held = audit(kind="reply", since="1h").json()["events"]
    assert [e["data"]["sent"] for e in held] == [False]
    assert audit(since="2999-01-01").json() == {"events": []}
    assert len(audit(limit=1).json()["events"]) == 1
    for params, says in [
        ({"where": "confidence"}, "Cannot read the condition"),
        ({"since": "last tuesday"}, "Cannot read the time"),
        ({"kind": "everything"}, "No event kind 'everything'"),
        ({"limit": 0}, "The limit must be"),
    ]:
        bad = audit(**params)
        assert bad.status_code == 400 and says in bad.json()["error"], bad.text


def test_a_held_draft_is_sent_as_it_is(drafts: httpx.Client) -> None:
    held = post(drafts, "c1", "I can't log in", message_id="m1")
    assert held["held"] is True and held["confidence"] == 0.55
    assert "Try resetting" not in held["reply"]
    (queued,) = drafts.get("/v1/queue", headers=PERSON).json()
    assert queued["id"] == "c1" and queued["ticket_id"] == held["ticket_id"]

    sent = drafts.post("/v1/queue/c1/draft", json={"text": None}, headers=PERSON)
    assert sent.status_code == 200, sent.text
    assert (
        sent.json()["author"] == "bot" and sent.json()["content"] == "Try resetting your password."
    )
    assert sent.json()["in_reply_to"] == "m1"
    assert drafts.get("/v1/queue", headers=PERSON).json() == []
    again = drafts.post("/v1/queue/c1/draft", headers=PERSON)  # no body: as it is
    assert again.status_code == 409

    post(drafts, "c2", "Still can't log in", message_id="m1")
    edited = drafts.post("/v1/queue/c2/draft", json={"text": "Use the reset link."}, headers=PERSON)
    assert edited.json()["author"] == "human" and edited.json()["content"] == "Use the reset link."


def signed(body: bytes, secret: bytes = HOOK_SECRET) -> dict[str, str]:
    return {SIGNATURE_HEADER: sign(secret, body), "Content-Type": "application/json"}


def ticket(event_id: str = "ev-1", **fields: Any) -> bytes:
    event = {
        "event_id": event_id,
        "ticket_id": "T-100",
        "customer_id": "cust-7",
        "subject": "Webhooks",
        "body": "My webhooks stopped firing.",
        **fields,
    }
    return json.dumps(event).encode()


def test_a_signed_ticket_event_is_answered_once(webhooks: httpx.Client) -> None:
    body = ticket()
    first = webhooks.post("/v1/webhooks/tickets", content=body, headers=signed(body))
    assert first.status_code == 200, first.text
    answer = WebhookOut.model_validate(first.json())
    assert (answer.event_id, answer.ticket_id, answer.status) == ("ev-1", "T-100", "processed")
    assert answer.reply.conversation_id == "ticket-T-100"
    assert answer.reply.message_id == "event-ev-1"
    assert answer.reply.reply == "echo: Webhooks\n\nMy webhooks stopped firing."

    retried = webhooks.post("/v1/webhooks/tickets", content=body, headers=signed(body)).json()
    assert retried["status"] == "duplicate" and retried["reply"]["reply"] == answer.reply.reply
    conversation = webhooks.get("/v1/conversations/ticket-T-100", headers=PERSON).json()
    assert [m["author"] for m in conversation["messages"]] == ["customer", "bot"]
    assert conversation["user_id"] == "cust-7"

    follow_up = ticket("ev-2", subject=None, body="Still broken.")
    later = webhooks.post("/v1/webhooks/tickets", content=follow_up, headers=signed(follow_up))
    assert later.json()["status"] == "processed"
    assert later.json()["reply"]["reply"] == "echo: Still broken."


def test_unsigned_wrongly_signed_or_tampered_events_are_refused(webhooks: httpx.Client) -> None:
    body = ticket()
    tampered = body.replace(b"stopped firing", b"refund me $5000")
    for content, headers in [
        (body, {"Content-Type": "application/json"}),  # no signature
        (body, signed(body, b"another-secret-0123456789")),
        (body, {SIGNATURE_HEADER: "sha256=" + "0" * 64}),
        (body, {SIGNATURE_HEADER: sign(HOOK_SECRET, body).removeprefix("sha256=")}),
        (tampered, signed(body)),  # signed, then changed on the way
    ]:
        refused = webhooks.post("/v1/webhooks/tickets", content=content, headers=headers)
        assert refused.status_code == 401, refused.text
        assert "Pyagent-Signature" in refused.json()["error"]
    missing = webhooks.get("/v1/conversations/ticket-T-100", headers=PERSON)
    assert missing.status_code == 404  # nothing reached the handler

    malformed = b'{"event_id": "ev-9", "ticket_id": "T-1"}'
    shape = webhooks.post("/v1/webhooks/tickets", content=malformed, headers=signed(malformed))
    assert shape.status_code == 422 and "body: Field required" in shape.json()["error"]
    broken = b'{"event_id": '
    assert (
        webhooks.post("/v1/webhooks/tickets", content=broken, headers=signed(broken)).status_code
        == 400
    )


def test_without_a_webhook_secret_the_route_is_not_there(tmp_path: Path) -> None:
    for client in serve(ChatHandler(echo(), store(tmp_path))):
        body = ticket()
        response = client.post("/v1/webhooks/tickets", content=body, headers=signed(body))
        assert response.status_code == 404
        assert response.json() == {"error": "Webhooks are not configured on this server."}
    with pytest.raises(UserError, match="webhook secret is empty"):
        create_app(
            ChatHandler(echo(), store(tmp_path)),
            customer_secret=SECRET,
            agent_tokens={},
            webhook_secret=b"",
        )


def test_serve_reads_the_webhook_secret_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("PYAGENT_WEBHOOK_SECRET", raising=False)
    assert webhook_secret() is None
    monkeypatch.setenv("PYAGENT_WEBHOOK_SECRET", "00112233445566778899aabbccddeeff")
    assert webhook_secret() == bytes.fromhex("00112233445566778899aabbccddeeff")
    monkeypatch.setenv("PYAGENT_WEBHOOK_SECRET", "a text secret of enough bytes")
    assert webhook_secret() == b"a text secret of enough bytes"
    monkeypatch.setenv("PYAGENT_WEBHOOK_SECRET", "short")
    with pytest.raises(UserError, match="PYAGENT_WEBHOOK_SECRET is 5 bytes"):
        webhook_secret()
