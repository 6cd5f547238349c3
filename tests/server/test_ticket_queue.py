"""Webhook tickets on procrastinate's PostgreSQL task queue, with a real database.

The webhook enqueues and answers 202; a worker (in-process, ``wait=False``: it stops once
no job is ready, or ``pyagent worker`` in a subprocess) answers the ticket. A small test
recipe stands in for the cookbook's system: it echoes, simulates a database outage for a
"flaky" ticket, refuses a "garbled" one and takes its time over a "slow" one.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import psycopg
import pytest
from pyagent_server import SIGNATURE_HEADER, create_app, sign
from pyagent_server.tickets import TicketQueue, ensure_queue_schema

from pyagent_cli.main import main
from pyagent_patterns import ChatHandler
from tests.conftest import POSTGRES_ADMIN_URL
from tests.server.conftest import PERSON, PERSON_TOKEN, SECRET, customer

HOOK_SECRET = b"helpdesk-webhook-secret-0123456789"

RECIPE = """
import asyncio
import os
from typing import Literal

from pyagent_patterns import Agent
from pyagent_patterns.base import as_messages
from pyagent_patterns.chat import ChatHandler, SQLiteConversationStore
from pyagent_providers import FunctionModel, StoreUnavailable, UserError

Classification = Literal["auto", "local"]
OUTAGE = {"turns": 0}  # the next N turns of a "flaky" ticket find the database down
TURNS = []


class Desk:
    def __init__(self):
        self.bot = Agent("bot", FunctionModel(lambda r: "echo: " + r.messages[-1].content))

    async def run(self, input, *, context=None):
        text = [m for m in as_messages(input) if m.role == "user"][-1].content
        TURNS.append(text)
        if "garbled" in text:
            raise UserError("the ticket cannot be read")
        if "slow" in text:
            await asyncio.sleep(1.5)
        if "flaky" in text and OUTAGE["turns"] > 0:
            OUTAGE["turns"] -= 1
            raise StoreUnavailable("the database is restarting")
        return await self.bot.run(input, context=context)


def chat_handler(store=None, *, classification="auto", **options):
    path = store or os.environ["TICKET_TEST_STORE"]
    return ChatHandler(Desk(), SQLiteConversationStore(path), **options)
"""


@pytest.fixture
def recipe(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The test recipe as a fresh importable module (its name: ``recipe.__name__``)."""
    name = f"ticket_recipe_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(RECIPE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("TICKET_TEST_STORE", str(tmp_path / "tickets.sqlite3"))
    return importlib.import_module(name)


@pytest.fixture
async def queue(postgres_url: str) -> AsyncIterator[TicketQueue]:
    """The database's ticket queue; retries do not wait."""
    tickets = TicketQueue(postgres_url, attempts=3, backoff_seconds=0)
    yield tickets
    await tickets.close()


def server(handler: ChatHandler, tickets: TicketQueue | None) -> httpx.AsyncClient:
    app = create_app(
        handler,
        customer_secret=SECRET,
        agent_tokens={PERSON_TOKEN: "Dana"},
        webhook_secret=HOOK_SECRET,
        tickets=tickets,
    )
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def ticket(event_id: str = "ev-1", ticket_id: str = "T-100", **fields: Any) -> bytes:
    event = {"event_id": event_id, "ticket_id": ticket_id, "customer_id": "cust-7",
             "subject": "Webhooks", "body": "My webhooks stopped firing.", **fields}  # fmt: skip
    return json.dumps(event).encode()


async def deliver(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    headers = {SIGNATURE_HEADER: sign(HOOK_SECRET, body), "Content-Type": "application/json"}
    return await client.post("/v1/webhooks/tickets", content=body, headers=headers)


async def work(tickets: TicketQueue, handler: ChatHandler) -> None:
    """A worker until no job is ready."""
    await tickets.run_worker(handler, wait=False, install_signal_handlers=False)


def jobs(url: str) -> list[tuple[str, str, int]]:
    """Every job left in the queue: (queueing lock, status, attempts)."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT queueing_lock, status::text, attempts FROM procrastinate_jobs ORDER BY id"
        ).fetchall()
    return [(row[0], row[1], row[2]) for row in rows]


async def messages(client: httpx.AsyncClient, ticket_id: str = "T-100") -> list[tuple[str, str]]:
    response = await client.get(f"/v1/conversations/ticket-{ticket_id}", headers=PERSON)
    if response.status_code == 404:
        return []
    assert response.status_code == 200, response.text
    return [(m["author"], m["content"]) for m in response.json()["messages"]]


async def test_a_ticket_is_acknowledged_then_answered_by_a_worker(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    handler = recipe.chat_handler()
    async with server(handler, queue) as client:
        response = await deliver(client, ticket())
        assert response.status_code == 202, response.text
        assert response.json() == {"event_id": "ev-1", "ticket_id": "T-100", "status": "queued"}
        assert await messages(client) == []  # nothing ran in the request
        assert jobs(postgres_url) == [("event-ev-1", "todo", 0)]

        await work(queue, handler)
        assert await messages(client) == [
            ("customer", "Webhooks\n\nMy webhooks stopped firing."),
            ("bot", "echo: Webhooks\n\nMy webhooks stopped firing."),
        ]
    assert jobs(postgres_url) == []  # succeeded jobs (and the ticket's text) are deleted


async def test_one_event_delivered_twice_to_two_servers_is_one_job_and_one_reply(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    other = TicketQueue(postgres_url, attempts=3, backoff_seconds=0)  # another server
    handler = recipe.chat_handler()
    try:
        async with server(handler, queue) as one, server(recipe.chat_handler(), other) as two:
            for client in (one, two, one):
                assert (await deliver(client, ticket())).status_code == 202
            assert jobs(postgres_url) == [("event-ev-1", "todo", 0)]

            await work(queue, handler)
            assert len(await messages(one)) == 2 and len(recipe.TURNS) == 1

            # redelivered after the job ran: queued again, answered from the stored reply
            assert (await deliver(two, ticket())).status_code == 202
            await work(other, handler)
            assert len(await messages(one)) == 2 and len(recipe.TURNS) == 1
    finally:
        await other.close()


async def test_a_database_outage_is_retried_until_the_ticket_is_answered(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    recipe.OUTAGE["turns"] = 2  # two attempts fail, the third of three answers
    handler = recipe.chat_handler()
    async with server(handler, queue) as client:
        assert (await deliver(client, ticket(body="flaky webhooks"))).status_code == 202
        await work(queue, handler)
        assert [author for author, _ in await messages(client)] == ["customer", "bot"]
        assert len(recipe.TURNS) == 3
        failed = await client.get("/v1/webhooks/failed", headers=PERSON)
        assert failed.status_code == 200 and failed.json() == []
    assert jobs(postgres_url) == []


async def test_an_outage_longer_than_the_attempts_is_a_dead_letter_a_person_retries(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    recipe.OUTAGE["turns"] = 10
    handler = recipe.chat_handler()
    async with server(handler, queue) as client:
        await deliver(client, ticket(body="flaky webhooks"))
        await work(queue, handler)
        assert jobs(postgres_url) == [("event-ev-1", "failed", 3)]
        (dead,) = (await client.get("/v1/webhooks/failed", headers=PERSON)).json()
        assert dead["event_id"] == "ev-1" and dead["ticket_id"] == "T-100"
        assert dead["attempts"] == 3 and dead["error"] == "StoreUnavailable"
        assert dead["failed_at"]
        assert [author for author, _ in await messages(client)] == ["customer"]  # kept

        recipe.OUTAGE["turns"] = 0  # the database is back
        retried = await client.post(f"/v1/webhooks/failed/{dead['job_id']}/retry", headers=PERSON)
        assert retried.status_code == 202, retried.text
        assert retried.json() == {
            "job_id": dead["job_id"], "event_id": "ev-1", "ticket_id": "T-100", "status": "queued"
        }  # fmt: skip
        again = await client.post(f"/v1/webhooks/failed/{dead['job_id']}/retry", headers=PERSON)
        assert again.status_code == 404  # it is no longer a dead letter
        await work(queue, handler)
        assert [author for author, _ in await messages(client)] == ["customer", "bot"]
        assert (await client.get("/v1/webhooks/failed", headers=PERSON)).json() == []


async def test_a_bad_ticket_is_a_dead_letter_at_once(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, "procrastinate")
    caplog.set_level(logging.DEBUG, "pyagent")
    handler = recipe.chat_handler()
    async with server(handler, queue) as client:
        await deliver(client, ticket("ev-9", body="garbled ?!"))
        await work(queue, handler)
        assert jobs(postgres_url) == [("event-ev-9", "failed", 1)]  # no retry
        assert len(recipe.TURNS) == 1
        listed = await client.get("/v1/webhooks/failed", headers=PERSON)
        assert [(d["event_id"], d["attempts"], d["error"]) for d in listed.json()] == [
            ("ev-9", 1, "UserError")
        ]
        assert "garbled" not in listed.text  # ids only
        refused = await client.get("/v1/webhooks/failed", headers=customer("cust-7"))
        assert refused.status_code == 403
    # procrastinate's records, the structured extras too, name the event by its ids only
    assert any("event=<ticket T-100 event ev-9>" in r.getMessage() for r in caplog.records)
    assert any(getattr(r, "job", None) for r in caplog.records)
    assert not [r for r in caplog.records if "garbled" in repr(vars(r))]


def die_mid_job(url: str) -> None:
    """The queued job was taken by a worker that died: its heartbeat is a minute old."""
    with psycopg.connect(url) as connection:
        (worker,) = connection.execute(
            "INSERT INTO procrastinate_workers (last_heartbeat)"
            " VALUES (now() - interval '1 minute') RETURNING id"
        ).fetchone() or (None,)
        connection.execute(
            "UPDATE procrastinate_jobs SET status = 'doing', worker_id = %s WHERE status = 'todo'",
            (worker,),
        )


async def test_a_job_whose_worker_died_runs_again(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    handler = recipe.chat_handler()
    async with server(handler, queue) as client:
        await deliver(client, ticket())
        die_mid_job(postgres_url)
        await work(queue, handler)  # a live worker finds it stalled and runs it again
        assert [author for author, _ in await messages(client)] == ["customer", "bot"]
    assert jobs(postgres_url) == []


async def test_a_stalled_job_whose_event_was_delivered_again_gives_way_to_the_new_job(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    handler = recipe.chat_handler()
    async with server(handler, queue) as client:
        await deliver(client, ticket())
        die_mid_job(postgres_url)
        await deliver(client, ticket())  # the helpdesk retried: a new job, same event
        assert [status for _, status, _ in jobs(postgres_url)] == ["doing", "todo"]
        assert await queue.recover_stalled() == 1
        assert jobs(postgres_url) == [("event-ev-1", "todo", 0)]
        await work(queue, handler)
        assert len(await messages(client)) == 2 and len(recipe.TURNS) == 1


async def test_a_job_that_keeps_killing_its_workers_is_a_dead_letter(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    async with server(recipe.chat_handler(), queue) as client:
        await deliver(client, ticket())
        for _ in range(3):  # the queue's 3 attempts
            die_mid_job(postgres_url)
            assert await queue.recover_stalled() == 1
        (dead,) = (await client.get("/v1/webhooks/failed", headers=PERSON)).json()
        assert (dead["attempts"], dead["error"]) == (3, "WorkerLost")
    assert recipe.TURNS == []


async def test_a_worker_outlives_a_database_outage(
    recipe: ModuleType, postgres_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "pyagent.tickets")
    queue = TicketQueue(postgres_url, timeout=1.0)  # an outage shows within a second
    handler = recipe.chat_handler()
    stop = asyncio.Event()
    running = asyncio.create_task(
        queue.run_worker(handler, install_signal_handlers=False, stop=stop)
    )
    try:
        async with server(handler, queue) as client:
            await deliver(client, ticket("ev-1", "T-1"))
            await until_answered(client, "T-1", running)
            with outage(postgres_url):  # as a restart of PostgreSQL would
                deadline = time.monotonic() + 30
                while "the worker starts again" not in caplog.text:
                    assert not running.done() and time.monotonic() < deadline, caplog.text
                    await asyncio.sleep(0.1)
            for _ in range(50):  # the server's pool may lend a dead connection first: 503
                if (await deliver(client, ticket("ev-2", "T-2"))).status_code == 202:
                    break
                await asyncio.sleep(0.2)
            await until_answered(client, "T-2", running)
    finally:
        stop.set()
        await asyncio.wait_for(running, 30)
        await queue.close()


@contextlib.contextmanager
def outage(url: str) -> Iterator[None]:
    """No connection to the database `url` (existing ones dropped) inside the block."""
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS false")
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (name,),
        )
        try:
            yield
        finally:
            admin.execute(f"ALTER DATABASE {name} ALLOW_CONNECTIONS true")


async def until_answered(
    client: httpx.AsyncClient, ticket_id: str, worker: asyncio.Task[None]
) -> None:
    deadline = time.monotonic() + 60
    while [author for author, _ in await messages(client, ticket_id)][-1:] != ["bot"]:
        assert not worker.done(), worker
        assert time.monotonic() < deadline
        await asyncio.sleep(0.1)


async def test_what_the_handler_would_refuse_is_refused_before_it_is_queued(
    recipe: ModuleType, queue: TicketQueue, postgres_url: str
) -> None:
    await queue.app()  # the schema (otherwise applied when the first ticket is queued)
    async with server(recipe.chat_handler(), queue) as client:
        bad_id = await deliver(client, ticket(ticket_id="T 100"))
        assert bad_id.status_code == 400 and "Ticket_id must be" in bad_id.json()["error"]
        empty = await deliver(client, ticket(subject=None, body="   "))
        assert empty.status_code == 400 and "empty" in empty.json()["error"]
        unsigned = await client.post("/v1/webhooks/tickets", content=ticket())
        assert unsigned.status_code == 401
    assert jobs(postgres_url) == []


async def test_without_a_queue_tickets_are_answered_inline_and_there_are_no_dead_letters(
    recipe: ModuleType,
) -> None:
    async with server(recipe.chat_handler(), None) as client:
        answered = await deliver(client, ticket())
        assert answered.status_code == 200 and answered.json()["status"] == "processed"
        failed = await client.get("/v1/webhooks/failed", headers=PERSON)
        assert failed.status_code == 404 and "no task queue" in failed.json()["error"]


async def test_a_queue_that_cannot_be_reached_answers_503_so_the_helpdesk_retries(
    recipe: ModuleType,
) -> None:
    down = TicketQueue("postgresql://postgres@127.0.0.1:1/nowhere")  # nothing listens there
    async with server(recipe.chat_handler(), down) as client:
        response = await deliver(client, ticket())
    assert response.status_code == 503 and "Retry-After" in response.headers
    assert "task queue is unavailable" in response.json()["error"]
    assert recipe.TURNS == []


async def test_the_schema_is_applied_once_by_whichever_process_comes_first(
    postgres_url: str,
) -> None:
    applied = await asyncio.gather(*(ensure_queue_schema(postgres_url) for _ in range(3)))
    assert sorted(applied) == [False, False, True]
    assert await ensure_queue_schema(postgres_url) is False


def test_the_worker_needs_a_database(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PYAGENT_DATABASE_URL", raising=False)
    assert main(["worker"]) == 2
    assert "PYAGENT_DATABASE_URL" in capsys.readouterr().err


@pytest.mark.timeout(180)
async def test_pyagent_worker_answers_queued_tickets_and_finishes_its_job_on_sigterm(
    recipe: ModuleType, tmp_path: Path, queue: TicketQueue, postgres_url: str
) -> None:
    env = {
        **os.environ,
        "PYAGENT_DATABASE_URL": postgres_url,
        "PYAGENT_LOG_LEVEL": "INFO",  # procrastinate's records too: scrubbed
        "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
    }
    command = [sys.executable, "-m", "pyagent_cli", "--recipe", recipe.__name__, "worker"]
    log = tmp_path / "worker.log"

    async def until(done: Callable[[], bool]) -> None:
        deadline = time.monotonic() + 120
        while not done():
            assert process.returncode is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            await asyncio.sleep(0.1)

    async with server(recipe.chat_handler(), queue) as client:
        for n in range(3):
            body = ticket(f"ev-{n}", f"T-{n}", body=f"secret-text-{n} stopped")
            assert (await deliver(client, body)).status_code == 202
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                *command, "--concurrency", "2", env=env, stdout=output, stderr=output
            )
        try:
            await until(lambda: not jobs(postgres_url))  # succeeded jobs are deleted
            await deliver(client, ticket("ev-9", "T-9", body="a slow secret-text"))
            await until(lambda: [status for _, status, _ in jobs(postgres_url)] == ["doing"])
            process.send_signal(signal.SIGTERM)  # while the slow ticket is being answered
            assert await asyncio.wait_for(process.wait(), 60) == 0, log.read_text()
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        for n in range(3):
            assert (await messages(client, f"T-{n}"))[-1] == (
                "bot", f"echo: Webhooks\n\nsecret-text-{n} stopped"
            )  # fmt: skip
        assert (await messages(client, "T-9"))[-1] == (
            "bot",
            "echo: Webhooks\n\na slow secret-text",
        )
    assert jobs(postgres_url) == []  # finished, not abandoned
    text = log.read_text()
    assert "worker started" in text and "worker stopped" in text
    assert "ticket T-0 event ev-0): processed" in text
    assert "secret-text" not in text  # ids only, procrastinate's records included
