"""Email-like ids over HTTP: out of error bodies, database files and every log, access too."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import httpx
import pytest
import uvicorn
from pyagent_server import create_app

from pyagent_patterns import ChatHandler
from tests.server.conftest import PERSON, PERSON_TOKEN, SECRET, Server, customer

JANE = "jane.doe@example.com"


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def logging_server(handler: ChatHandler) -> Server:
    """The conftest server, with uvicorn logging at INFO: access lines are written."""
    app = create_app(handler, customer_secret=SECRET, agent_tokens={PERSON_TOKEN: "Dana"})
    running = Server(app)
    config = uvicorn.Config(app, host="127.0.0.1", port=running.port, log_level="info")
    running.server = uvicorn.Server(config)
    running.thread = threading.Thread(target=running.server.run, daemon=True)
    return running


def test_email_ids_stay_out_of_error_bodies_files_and_logs(
    tmp_path: Path, handler: ChatHandler, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    access = Records()
    access_logger = logging.getLogger("uvicorn.access")
    stored_id = handler.ids(JANE)
    jane = customer(JANE)
    try:
        with logging_server(handler) as running, httpx.Client(base_url=running.url) as client:
            access_logger.addHandler(access)
            url = f"/v1/conversations/{JANE}"
            first = client.post(
                f"{url}/messages",
                json={"text": "hello", "message_id": "m1@x.example"},
                headers=jane,
            )
            assert first.status_code == 200, first.text
            assert first.json()["conversation_id"] == JANE  # the caller's own ids come back
            assert first.json()["message_id"] == "m1@x.example"
            escalated = client.post(f"{url}/messages", json={"text": "lawyer now"}, headers=jane)
            assert escalated.json()["escalated"] is True

            (queued,) = client.get("/v1/queue", headers=PERSON).json()
            assert queued["id"] == stored_id and queued["user_id"] == stored_id
            claimed = client.post(f"/v1/queue/{JANE}/claim", headers=PERSON)
            assert claimed.status_code == 200 and claimed.json()["id"] == stored_id
            replied = client.post(
                f"/v1/queue/{stored_id}/reply", json={"text": "Dana here."}, headers=PERSON
            )
            assert replied.status_code == 200, replied.text
            assert client.post(f"/v1/queue/{JANE}/hand-back", headers=PERSON).status_code == 200
            own = client.get(url, headers=jane)
            assert own.status_code == 200 and own.json()["id"] == stored_id

            refusals = [
                client.get(url, headers=customer("mallory@example.org")),
                client.post(f"{url}/messages", json={"text": "hi"}, headers=customer("m@x.io")),
                client.get("/v1/conversations/nobody@example.com", headers=PERSON),
                client.post(f"/v1/queue/{JANE}/claim", headers=PERSON),  # back with the bot
                client.post(f"{url}/messages", json={"text": "explode"}, headers=jane),
            ]
            assert [r.status_code for r in refusals] == [404, 404, 404, 409, 500]
            for refused in refusals:
                assert "@" not in refused.text and "example" not in refused.text, refused.text
            assert stored_id in refusals[3].json()["error"]
    finally:
        access_logger.removeHandler(access)

    for path in tmp_path.iterdir():
        if path.is_file():
            data = path.read_bytes()
            assert b"example" not in data and b"@x." not in data, path.name
    assert any(name.endswith("-wal") for name in (p.name for p in tmp_path.iterdir()))
    assert len(access.lines) >= 10 and any(stored_id in line for line in access.lines)
    client_side = ("httpx", "httpcore")  # the test's own HTTP client logs its URLs
    server_side = [r for r in caplog.records if not r.name.startswith(client_side)]
    logged = access.lines + [r.getMessage() for r in server_side]
    assert not [line for line in logged if "example" in line or "@x." in line]


def test_the_access_log_filter_rewrites_only_email_like_path_parts(handler: ChatHandler) -> None:
    create_app(handler, customer_secret=SECRET, agent_tokens={})
    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s - "%s %s HTTP/%s" %d',
        ("127.0.0.1:5000", "GET", "/v1/conversations/jane.doe%40example.com?x=c1", "1.1", 200),
        None,
    )
    assert logging.getLogger("uvicorn.access").filter(record)
    assert record.getMessage() == (
        f'127.0.0.1:5000 - "GET /v1/conversations/{handler.ids(JANE)}?x=c1 HTTP/1.1" 200'
    )
