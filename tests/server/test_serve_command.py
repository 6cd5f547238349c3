"""``pyagent serve`` and ``pyagent token`` as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from pyagent_server import verify_customer_token

from pyagent_cli.main import main
from tests.server.conftest import free_port

SECRET_HEX = "00112233445566778899aabbccddeeff"


@contextmanager
def serving(tmp_path: Path, store: Path) -> Iterator[str]:
    """`pyagent serve --classification local` in a subprocess, once /healthz answers."""
    port = free_port()
    env = {
        **os.environ,
        "PYAGENT_DATA_DIR": str(tmp_path),
        "PYAGENT_CUSTOMER_SECRET": SECRET_HEX,
        "PYAGENT_AGENT_TOKENS": "dana=queue-token",
        "HF_HUB_OFFLINE": "1",
    }
    command = [sys.executable, "-m", "pyagent_cli", "serve", "--classification", "local"]
    command += ["--store", str(store), "--port", str(port)]
    log = tmp_path / f"serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240  # loading the local models takes a while
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            try:
                if httpx.get(f"{url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        yield url
    finally:
        process.terminate()
        process.wait(60)


def customer_headers(user_id: str) -> dict[str, str]:
    """`pyagent token USER` as a user runs it, as request headers."""
    token = subprocess.run(
        [sys.executable, "-m", "pyagent_cli", "token", user_id],
        env={**os.environ, "PYAGENT_CUSTOMER_SECRET": SECRET_HEX},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.timeout(600)
def test_a_conversation_continues_after_the_server_process_restarts(tmp_path: Path) -> None:
    store = tmp_path / "conversations.sqlite3"
    headers = customer_headers("alice")
    first = "My webhooks stopped firing after I rotated the API key"
    second = "I did that and they are still not arriving, what next?"
    with serving(tmp_path, store) as url:
        reply = httpx.post(
            f"{url}/v1/conversations/c1/messages",
            json={"text": first},
            headers=headers,
            timeout=120,
        )
        assert reply.status_code == 200, reply.text
    with serving(tmp_path, store) as url:
        reply = httpx.post(
            f"{url}/v1/conversations/c1/messages",
            json={"text": second},
            headers=headers,
            timeout=120,
        )
        assert reply.status_code == 200, reply.text
        conversation = httpx.get(f"{url}/v1/conversations/c1", headers=headers).json()
    messages = conversation["messages"]
    assert [m["author"] for m in messages] == ["customer", "bot", "customer", "bot"]
    assert [messages[0]["content"], messages[2]["content"]] == [first, second]
    assert messages[3]["content"] == reply.json()["reply"]


def test_serve_refuses_to_start_without_a_customer_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PYAGENT_CUSTOMER_SECRET", raising=False)
    assert main(["serve"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert "PYAGENT_CUSTOMER_SECRET" in line


def test_serve_refuses_malformed_agent_tokens(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYAGENT_CUSTOMER_SECRET", SECRET_HEX)
    monkeypatch.setenv("PYAGENT_AGENT_TOKENS", "dana=queue-token,just-a-token")
    assert main(["serve"]) == 2


def test_token_prints_a_customer_token_the_server_accepts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYAGENT_CUSTOMER_SECRET", SECRET_HEX)
    assert main(["token", "alice@example.com"]) == 0
    token = capsys.readouterr().out.strip()
    assert verify_customer_token(bytes.fromhex(SECRET_HEX), token) == "alice@example.com"
    assert verify_customer_token(b"another secret", token) is None


def test_serve_refuses_a_weak_customer_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PYAGENT_CUSTOMER_SECRET", "short")
    assert main(["serve"]) == 2
    assert "at least 16" in capsys.readouterr().err


def test_the_server_warms_up_before_its_first_request(tmp_path: Path) -> None:
    from pyagent_server import create_app

    from pyagent_patterns import ChatHandler, SQLiteConversationStore
    from tests.server.conftest import EchoOrEscalate, Server

    warmed: list[float] = []

    async def warm_up() -> None:
        warmed.append(time.monotonic())

    handler = ChatHandler(
        EchoOrEscalate(tmp_path), SQLiteConversationStore(tmp_path / "c.sqlite3"), warm_up=warm_up
    )
    app = create_app(handler, customer_secret=bytes.fromhex(SECRET_HEX), agent_tokens={})
    with Server(app) as running:
        assert warmed  # before /healthz answered, so before any customer's message
        assert httpx.get(f"{running.url}/healthz").status_code == 200
    assert len(warmed) == 1
