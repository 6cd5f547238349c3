"""Another customer's conversation is answered exactly like one that does not exist."""

from __future__ import annotations

import httpx

from tests.server.conftest import PERSON, customer

ALICE = customer("alice")
BOB = customer("bob")


def without_date(response: httpx.Response) -> list[tuple[str, str]]:
    return [(k, v) for k, v in response.headers.multi_items() if k.lower() != "date"]


def test_another_customers_conversation_is_a_404_byte_for_byte_like_a_missing_one(
    client: httpx.Client,
) -> None:
    missing_read = client.get("/v1/conversations/c1", headers=BOB)
    missing_stream = client.get("/v1/conversations/c1?stream=true", headers=BOB)
    created = client.post("/v1/conversations/c1/messages", json={"text": "hi"}, headers=ALICE)
    assert created.status_code == 200, created.text

    taken_read = client.get("/v1/conversations/c1", headers=BOB)
    taken_stream = client.get("/v1/conversations/c1?stream=true", headers=BOB)
    for missing, taken in ((missing_read, taken_read), (missing_stream, taken_stream)):
        assert missing.status_code == taken.status_code == 404
        assert missing.content == taken.content == b'{"error":"No conversation \'c1\'."}'
        assert without_date(missing) == without_date(taken)

    # writing to it is refused with the same body, and changes nothing
    intrusion = client.post("/v1/conversations/c1/messages", json={"text": "x"}, headers=BOB)
    assert intrusion.status_code == 404 and intrusion.content == missing_read.content
    streamed = client.post(
        "/v1/conversations/c1/messages?stream=true", json={"text": "x"}, headers=BOB
    )
    assert streamed.status_code == 404 and streamed.content == missing_read.content
    own = client.get("/v1/conversations/c1", headers=ALICE).json()
    assert [m["content"] for m in own["messages"]] == ["hi", "echo: hi"]
    # people still read every conversation
    assert client.get("/v1/conversations/c1", headers=PERSON).json()["user_id"] == "alice"
