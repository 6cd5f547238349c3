"""A request body that never finishes is cut after the body timeout (raw sockets, real uvicorn)."""

from __future__ import annotations

import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from pyagent_server import create_app
from pyagent_server.middleware import BODY_TIMEOUT

from pyagent_patterns.chat import ChatHandler
from tests.server.conftest import SECRET, Server, customer

HEAD = (
    "POST /v1/conversations/c1/messages HTTP/1.1\r\n"
    "Host: 127.0.0.1\r\n"
    "Content-Type: application/json\r\n"
    f"Authorization: {customer('alice')['Authorization']}\r\n"
)


@pytest.fixture
def slow_server(handler: ChatHandler) -> Iterator[Server]:
    app = create_app(handler, customer_secret=SECRET, agent_tokens={}, body_timeout=1.0)
    with Server(app) as running:
        yield running


def answer(connection: socket.socket, *, within: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes the connection, and when it closed."""
    started = time.monotonic()
    connection.settimeout(within)
    received = b""
    while chunk := connection.recv(65536):  # socket.timeout (a failure) if it never closes
        received += chunk
    return received, time.monotonic() - started


def assert_408(response: bytes) -> None:
    head, _, body = response.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), response
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {"error": "The request body did not arrive within 1 s."}


def test_a_body_shorter_than_announced_gets_408_and_the_connection_closes(
    slow_server: Server,
) -> None:
    with socket.create_connection(("127.0.0.1", slow_server.port)) as connection:
        connection.sendall((HEAD + "Content-Length: 100\r\n\r\n").encode() + b'{"text": "')
        response, elapsed = answer(connection, within=5)
    assert_408(response)
    assert 0.9 < elapsed < 3


def test_a_dripping_body_is_cut_at_the_deadline_not_reset_by_each_byte(
    slow_server: Server,
) -> None:
    with socket.create_connection(("127.0.0.1", slow_server.port)) as connection:
        connection.sendall((HEAD + "Content-Length: 100\r\n\r\n").encode())
        started, dripped = time.monotonic(), 0
        # a byte every 0.2 s until the server answers (each well within the timeout)
        while not select.select([connection], [], [], 0.2)[0]:
            connection.sendall(b" ")
            dripped += 1
            assert dripped < 30, "the server never answered"
        response, _ = answer(connection, within=5)
    assert_408(response)
    assert dripped >= 4 and time.monotonic() - started < 3


def test_an_unfinished_chunked_body_gets_408(slow_server: Server) -> None:
    with socket.create_connection(("127.0.0.1", slow_server.port)) as connection:
        connection.sendall((HEAD + 'Transfer-Encoding: chunked\r\n\r\n4\r\n{"te\r\n').encode())
        response, elapsed = answer(connection, within=5)
    assert_408(response)
    assert elapsed < 3


def test_a_complete_body_is_answered_and_the_connection_kept(
    slow_server: Server, tmp_path: Path
) -> None:
    body = json.dumps({"text": "hello"}).encode()
    request = (HEAD + f"Content-Length: {len(body)}\r\n\r\n").encode() + body
    with socket.create_connection(("127.0.0.1", slow_server.port)) as connection:
        connection.settimeout(10)
        connection.sendall(request)
        first = _one_response(connection)
        assert first.startswith(b"HTTP/1.1 200 "), first
        time.sleep(1.5)  # longer than the body timeout, between requests: still open
        connection.sendall(request)
        second = _one_response(connection)
        assert second.startswith(b"HTTP/1.1 200 "), second


def _one_response(connection: socket.socket) -> bytes:
    """One whole HTTP response (its head and Content-Length bytes of body), however the
    bytes were split into segments."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += connection.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


def test_the_default_body_timeout_is_ten_seconds() -> None:
    assert BODY_TIMEOUT == 10.0
