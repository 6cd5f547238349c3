"""``/readyz`` (readiness: the store reads, Redis answers) beside ``/healthz`` (liveness)."""

from __future__ import annotations

import asyncio
import os
import socket
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyagent_server import create_app

from pyagent_patterns.chat import ChatHandler, RateLimits, SQLiteConversationStore
from pyagent_providers import StoreUnavailable
from tests.conftest import REDIS_URL
from tests.server.conftest import SECRET, EchoOrEscalate, Server, customer


@contextmanager
def serving(handler: ChatHandler) -> Iterator[httpx.Client]:
    app = create_app(handler, customer_secret=SECRET, agent_tokens={})
    with Server(app) as running, httpx.Client(base_url=running.url, timeout=30) as client:
        yield client


def chat(tmp_path: Path, store: Any = None) -> ChatHandler:
    store = store or SQLiteConversationStore(tmp_path / "c.sqlite3")
    return ChatHandler(EchoOrEscalate(tmp_path), store, limits=RateLimits())


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"redis://127.0.0.1:{probe.getsockname()[1]}/0"


def test_a_corrupted_conversations_file_is_not_ready_but_alive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYAGENT_REDIS_URL", raising=False)
    with serving(chat(tmp_path)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ready", "checks": {"database": "ok"}}
        posted = client.post(
            "/v1/conversations/c1/messages", json={"text": "hi"}, headers=customer("alice")
        )
        assert posted.status_code == 200

        path = tmp_path / "c.sqlite3"
        with sqlite3.connect(path) as db:  # the rows into the file, out of the WAL
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        path.write_bytes(os.urandom(path.stat().st_size))  # garbage over the file

        assert client.get("/healthz").status_code == 200  # alive
        refused = client.get("/readyz")
        assert refused.status_code == 503 and refused.headers["Retry-After"] == "5"
        body = refused.json()
        assert body["status"] == "unavailable" and set(body) == {"status", "error", "checks"}
        assert body["checks"]["database"].startswith("unavailable: ")
        assert "not a database" in body["checks"]["database"]
        assert "not ready" in body["error"] and str(tmp_path) not in refused.text


def test_redis_is_checked_when_configured_and_a_down_redis_is_reported_not_fatal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAGENT_REDIS_URL", REDIS_URL)
    with serving(chat(tmp_path)) as client:
        ready = client.get("/readyz")
        assert ready.status_code == 200
        assert ready.json()["checks"] == {"database": "ok", "redis": "ok"}

    monkeypatch.setenv("PYAGENT_REDIS_URL", closed_port_url())
    with serving(chat(tmp_path)) as client:
        ready = client.get("/readyz")
        # rate limits fail open without Redis: reported, and still ready
        assert ready.status_code == 200 and ready.json()["status"] == "ready"
        assert ready.json()["checks"]["redis"].startswith("unavailable: Redis")
        posted = client.post(
            "/v1/conversations/c2/messages", json={"text": "hi"}, headers=customer("bob")
        )
        assert posted.status_code == 200


class NoPing:
    """A store without ``ping``: readiness reads a conversation that never exists."""

    def __init__(self, inner: SQLiteConversationStore) -> None:
        self.inner = inner
        self.down = False
        self.slow = False

    def __getattr__(self, name: str) -> Any:
        if name == "ping":
            raise AttributeError(name)
        return getattr(self.inner, name)

    async def get(self, conversation_id: str) -> Any:
        if self.down:
            raise StoreUnavailable("the database is unavailable: OperationalError")
        if self.slow:
            await asyncio.sleep(5)
        return await self.inner.get(conversation_id)


def test_a_store_without_ping_is_read_and_a_slow_one_times_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYAGENT_REDIS_URL", raising=False)
    store = NoPing(SQLiteConversationStore(tmp_path / "c.sqlite3"))
    with serving(chat(tmp_path, store)) as client:
        assert client.get("/readyz").status_code == 200
        store.down = True
        down = client.get("/readyz")
        assert down.status_code == 503
        assert down.json()["checks"] == {
            "database": "unavailable: the database is unavailable: OperationalError"
        }
        store.down, store.slow = False, True
        slow = client.get("/readyz")
        assert slow.status_code == 503
        assert slow.json()["checks"]["database"] == "unavailable: no answer within 2 s"
        store.slow = False
        assert client.get("/readyz").status_code == 200
