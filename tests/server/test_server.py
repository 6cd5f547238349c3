"""The chat server over HTTP, against a real uvicorn server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from typing import Any

import httpx
import pytest
from pyagent_server.models import ReplyOut

from pyagent_patterns.chat import RateLimits
from tests.server.conftest import PERSON, Server, customer

ALICE = customer("alice")
BOB = customer("bob")


def post(client: httpx.Client, conversation: str, text: str, **extra: Any) -> httpx.Response:
    return client.post(
        f"/v1/conversations/{conversation}/messages", json={"text": text, **extra}, headers=ALICE
    )


def history(client: httpx.Client, conversation: str) -> list[tuple[str, str]]:
    response = client.get(f"/v1/conversations/{conversation}", headers=ALICE)
    assert response.status_code == 200, response.text
    return [(m["author"], m["content"]) for m in response.json()["messages"]]


def test_health_and_docs(client: httpx.Client) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    spec = client.get("/openapi.json").json()
    operations = [op for path in spec["paths"].values() for op in path.values()]
    assert len(operations) == 15 and all(op.get("summary") for op in operations)
    assert {"ReplyOut", "ConversationOut", "ErrorOut"} <= set(spec["components"]["schemas"])
    reply = spec["paths"]["/v1/conversations/{conversation_id}/messages"]["post"]["responses"]
    assert reply["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ReplyOut")
    page = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+\.(?:js|css))['"]""", page)
    assert assets and not [a for a in assets if a.startswith("http")]  # no CDN: works offline
    assert all(client.get(asset).status_code == 200 for asset in assets)


def test_a_reply_and_the_conversation(client: httpx.Client) -> None:
    reply = post(client, "c1", "hello there", message_id="m1")
    assert reply.status_code == 200, reply.text
    assert reply.json()["reply"] == "echo: hello there"
    assert reply.json()["state"] == "bot" and reply.json()["duplicate"] is False
    assert ReplyOut.model_validate(reply.json()).recovery_level == 0  # the documented schema
    assert history(client, "c1") == [("customer", "hello there"), ("bot", "echo: hello there")]


def test_duplicate_delivery_gives_one_reply(client: httpx.Client) -> None:
    first = post(client, "c1", "where is my invoice", message_id="m-1").json()
    second = post(client, "c1", "where is my invoice", message_id="m-1").json()
    assert second["duplicate"] is True and second["reply"] == first["reply"]
    assert [author for author, _ in history(client, "c1")] == ["customer", "bot"]


async def test_100_concurrent_conversations_each_get_their_own_reply(server: Server) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=60) as http:

        async def one(n: int) -> tuple[int, dict[str, Any]]:
            response = await http.post(
                f"/v1/conversations/conv-{n}/messages",
                json={"text": f"question number {n}"},
                headers=customer(f"user-{n}"),
            )
            return response.status_code, response.json()

        results = await asyncio.gather(*(one(n) for n in range(100)))
    assert [status for status, _ in results] == [200] * 100
    for n, (_, body) in enumerate(results):
        assert body["conversation_id"] == f"conv-{n}"
        assert body["reply"] == f"echo: question number {n}"


def test_an_escalated_conversation_queues_messages_for_the_person(client: httpx.Client) -> None:
    escalated = post(client, "c1", "I am calling my lawyer").json()
    assert escalated["escalated"] is True and escalated["state"] == "waiting_for_human"
    again = post(client, "c1", "also my order number is 42").json()
    assert again["state"] == "waiting_for_human" and again["tier"] == "human"
    assert escalated["ticket_id"] in again["reply"]  # the acknowledgement names the case
    assert ("customer", "also my order number is 42") in history(client, "c1")
    (queued,) = client.get("/v1/queue", headers=PERSON).json()
    assert queued["id"] == "c1" and queued["state"] == "waiting_for_human"
    assert "messages" not in queued


def test_a_persons_reply_reaches_the_customer_and_hand_back_returns_to_the_bot(
    client: httpx.Client,
) -> None:
    post(client, "c1", "I want a lawyer")
    claimed = client.post("/v1/queue/c1/claim", headers=PERSON).json()
    assert claimed["state"] == "with_human" and claimed["agent"] == "Dana"
    reply = client.post("/v1/queue/c1/reply", json={"text": "Hi, Dana here."}, headers=PERSON)
    assert reply.status_code == 200, reply.text
    assert history(client, "c1")[-1] == ("human", "Hi, Dana here.")
    assert client.post("/v1/queue/c1/hand-back", headers=PERSON).json()["state"] == "bot"
    answer = post(client, "c1", "thanks, one more question").json()
    assert answer["reply"] == "echo: thanks, one more question" and answer["state"] == "bot"
    assert client.get("/v1/queue", headers=PERSON).json() == []


def test_people_read_any_conversation_but_do_not_post_as_customers(client: httpx.Client) -> None:
    post(client, "c1", "hello")
    assert client.get("/v1/conversations/c1", headers=PERSON).json()["user_id"] == "alice"
    refused = client.post("/v1/conversations/c1/messages", json={"text": "x"}, headers=PERSON)
    assert refused.status_code == 403


def test_unauthenticated_and_wrong_callers_are_refused(client: httpx.Client) -> None:
    post(client, "c1", "hello")
    missing = client.get("/v1/queue")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == "Bearer"
    forged = {"Authorization": "Bearer alice.not-the-signature"}
    assert client.get("/v1/conversations/c1", headers=forged).status_code == 401
    queue = client.get("/v1/queue", headers=ALICE)
    assert queue.status_code == 403 and "support staff" in queue.json()["error"]
    assert client.post("/v1/queue/c1/claim", headers=ALICE).status_code == 403
    other = client.get("/v1/conversations/c1", headers=BOB)
    assert other.status_code == 404 and set(other.json()) == {"error"}
    intrusion = client.post("/v1/conversations/c1/messages", json={"text": "hi"}, headers=BOB)
    assert intrusion.status_code == 404
    assert history(client, "c1") == [("customer", "hello"), ("bot", "echo: hello")]


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        (json.dumps({"text": "x" * 1_000_000}), 413, "over the limit of 64 KiB"),
        (json.dumps({"text": "   "}), 400, "The message is empty."),
        ('{"text": "half', 400, "not valid JSON"),
        (json.dumps({"text": 42}), 422, "text: Input should be a valid string"),
        (json.dumps({"message": "hi"}), 422, "text: Field required"),
    ],
)
def test_refused_messages_leave_the_conversation_intact(
    client: httpx.Client, body: str, status: int, error: str
) -> None:
    post(client, "c1", "hello")
    before = history(client, "c1")
    response = client.post(
        "/v1/conversations/c1/messages",
        content=body,
        headers={**ALICE, "Content-Type": "application/json"},
    )
    assert response.status_code == status
    assert error in response.json()["error"]
    assert "x" * 100 not in response.text  # the customer's text is never echoed
    assert history(client, "c1") == before


def test_unknown_conversation_and_queue_conflicts(client: httpx.Client) -> None:
    missing = client.get("/v1/conversations/nope", headers=ALICE)
    assert missing.status_code == 404 and missing.json() == {"error": "No conversation 'nope'."}
    post(client, "c1", "hello")
    assert client.post("/v1/queue/c1/claim", headers=PERSON).status_code == 409
    assert client.get("/v1/nowhere").status_code == 404


def test_a_streamed_reply_arrives_as_deltas_then_done(client: httpx.Client) -> None:
    with client.stream(
        "POST",
        "/v1/conversations/c1/messages",
        json={"text": "my webhooks stopped firing yesterday"},
        headers={**ALICE, "Accept": "text/event-stream"},
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = sse_events(response)
    *deltas, (last, done) = events
    assert last == "done" and {name for name, _ in deltas} == {"delta"} and len(deltas) > 1
    assert "".join(data["text"] for _, data in deltas) == done["reply"]
    assert done["reply"] == "echo: my webhooks stopped firing yesterday"


def test_a_refused_streamed_message_is_a_plain_error(client: httpx.Client) -> None:
    response = client.post(
        "/v1/conversations/c1/messages?stream=true", json={"text": ""}, headers=ALICE
    )
    assert response.status_code == 400 and response.json() == {"error": "The message is empty."}


@pytest.mark.parametrize("limits", [RateLimits(per_conversation=2, per_user=None)])
def test_too_many_messages_get_429_with_retry_after(client: httpx.Client) -> None:
    assert [post(client, "c1", f"message {n}").status_code for n in range(2)] == [200, 200]
    refused = post(client, "c1", "one too many")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert "Too many messages" in refused.json()["error"]
    assert len(history(client, "c1")) == 4


def sse_events(response: httpx.Response) -> list[tuple[str, dict[str, Any]]]:
    events: list[tuple[str, dict[str, Any]]] = []
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            events.append((name, json.loads(line.removeprefix("data: "))))
    return events


def test_an_internal_failure_is_a_generic_500_that_logs_only_its_type(
    client: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="pyagent.server"):
        response = post(client, "c1", "please explode my secret order 4242")
    assert response.status_code == 500
    assert response.json() == {
        "error": "The server could not handle this request; please try again later."
    }
    assert "RuntimeError" in caplog.text and "4242" not in caplog.text


def test_a_failure_after_the_stream_started_is_an_error_event(client: httpx.Client) -> None:
    with client.stream(
        "POST",
        "/v1/conversations/c1/messages?stream=true",
        json={"text": "explode with order 4242"},
        headers=ALICE,
    ) as response:
        assert response.status_code == 200
        events = sse_events(response)
    assert events[0] == ("delta", {"text": "partial "})
    name, data = events[-1]
    assert name == "error" and "4242" not in data["error"]
