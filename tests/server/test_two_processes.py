"""Two ``pyagent serve`` processes on one SQLite file, answering one conversation at once."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from tests.server.test_serve_command import customer_headers, serving


@pytest.mark.timeout(900)
def test_two_servers_on_one_file_lose_nothing_and_answer_each_message_once(
    tmp_path: Path,
) -> None:
    store = tmp_path / "conversations.sqlite3"
    headers = customer_headers("alice")
    with ExitStack() as stack:
        urls = [stack.enter_context(serving(tmp_path, store)) for _ in range(2)]

        def send(number: int) -> httpx.Response:
            text = f"Please update the billing contact to person{number}@example.com, thanks"
            return httpx.post(
                f"{urls[number % 2]}/v1/conversations/shared/messages",
                json={"text": text, "message_id": f"m{number}"},
                headers=headers,
                timeout=300,
            )

        def send_twice(url: str) -> httpx.Response:  # one message id to both servers at once
            return httpx.post(
                f"{url}/v1/conversations/shared/messages",
                json={"text": "Is anyone there? My invoice is wrong", "message_id": "same"},
                headers=headers,
                timeout=300,
            )

        with ThreadPoolExecutor(max_workers=8) as pool:
            replies = list(pool.map(send, range(10)))
            twins = list(pool.map(send_twice, urls))
        conversation = httpx.get(f"{urls[0]}/v1/conversations/shared", headers=headers).json()

    assert [r.status_code for r in replies + twins] == [200] * 12, [r.text for r in replies]
    messages = conversation["messages"]
    customer = [m for m in messages if m["author"] == "customer"]
    answers = [m for m in messages if m["author"] != "customer"]
    ids = sorted(m["message_id"] for m in customer)
    assert ids == sorted([f"m{n}" for n in range(10)] + ["same"])  # nothing lost, none twice
    assert sorted(m["in_reply_to"] for m in answers) == ids  # each answered exactly once
    assert [m["seq"] for m in messages] == list(range(1, len(messages) + 1))
    for message in customer[:-1]:  # every answer follows its own question, in order
        position = messages.index(message)
        assert messages[position + 1]["in_reply_to"] == message["message_id"]
    assert sorted(r.json()["duplicate"] for r in twins) == [False, True]
    assert twins[0].json()["reply"] == twins[1].json()["reply"]
    placeholders = [re.findall(r"<EMAIL_ADDRESS_\d+>", m["content"]) for m in customer]
    emails = [p[0] for p in placeholders if p]
    assert len(emails) == 10 and len(set(emails)) == 10  # ten emails, ten placeholders
    assert "@example.com" not in str(messages)
