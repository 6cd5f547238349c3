"""Three servers and two webhook workers on one PostgreSQL, under faults (issue 12).

Real processes (`pyagent serve`, `pyagent worker`) on the machine's PostgreSQL and Redis,
with the light `fault_recipe` (the real PII guard, an echo model that takes 0.3 s):

- the same message id sent to every server at once is answered once;
- 20 messages to one conversation spread over the servers: none lost, none answered
  twice, every answer right after its own question, distinct emails keep distinct
  placeholders;
- webhook tickets, some delivered to two servers, with a worker killed (-9) mid-job:
  every ticket answered exactly once;
- PostgreSQL restarted mid-load: clients get 503 with ``Retry-After`` and retry; every
  acknowledged message is stored and answered once;
- Redis stopped for a while: rate limits fail open, nothing is refused.

The test restarts the machine's PostgreSQL and Redis (marked ``faults``: ``-m "not faults"``
leaves it out).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from tests.server.conftest import free_port
from tests.server.test_serve_command import SECRET_HEX, customer_headers

pytestmark = [pytest.mark.timeout(1200), pytest.mark.faults]

WEBHOOK_SECRET = "fault-test-webhook-secret-0123456789"
RECIPE = "tests.server.fault_recipe"
PG_CLUSTER = ("pg_ctlcluster", "--skip-systemctl-redirect")


def _environment(tmp_path: Path, database: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYAGENT_DATA_DIR": str(tmp_path),
        "PYAGENT_DATABASE_URL": database,
        "PYAGENT_REDIS_URL": os.environ.get("PYAGENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "PYAGENT_CUSTOMER_SECRET": SECRET_HEX,
        "PYAGENT_AGENT_TOKENS": "dana=queue-token",
        "PYAGENT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "HF_HUB_OFFLINE": "1",
        "PYTHONPATH": str(Path(__file__).resolve().parents[2]),
    }


@contextmanager
def _process(
    command: list[str], env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


def _server(stack: ExitStack, tmp_path: Path, env: dict[str, str]) -> str:
    port = free_port()
    command = [sys.executable, "-m", "pyagent_cli", "--recipe", RECIPE, "serve"]
    command += ["--classification", "local", "--port", str(port)]
    process = stack.enter_context(_process(command, env, tmp_path / f"serve-{port}.log"))
    url = f"http://127.0.0.1:{port}"
    _wait(
        lambda: httpx.get(f"{url}/readyz").status_code == 200,
        process,
        tmp_path / f"serve-{port}.log",
    )
    return url


def _worker(
    stack: ExitStack, tmp_path: Path, env: dict[str, str], n: int
) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "pyagent_cli", "--recipe", RECIPE, "worker"]
    command += ["--classification", "local"]
    return stack.enter_context(_process(command, env, tmp_path / f"worker-{n}.log"))


def _wait(ready: Callable[[], bool], process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 240
    while True:
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        try:
            if ready():
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)


UNAVAILABLE: list[str | None] = []  # each 503's Retry-After, for the report


def _post(url: str, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    """POST until the server answers something other than 503 (the client's retry loop)."""
    deadline = time.monotonic() + 180
    while True:
        try:
            response = httpx.post(f"{url}{path}", json=body, headers=headers, timeout=120)
        except httpx.TransportError:
            response = None
        if response is not None and response.status_code != 503:
            return response
        if response is not None:
            UNAVAILABLE.append(response.headers.get("Retry-After"))
        assert time.monotonic() < deadline, "the service stayed unavailable"
        retry = float(response.headers.get("Retry-After", "1")) if response is not None else 1.0
        time.sleep(min(retry, 2.0))


def _signed(body: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    digest = hmac.new(WEBHOOK_SECRET.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Pyagent-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def _messages(database: str, conversation: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(database) as connection:
        return connection.execute(
            "SELECT seq, author, content, message_id, in_reply_to FROM messages"
            " WHERE conversation_id = %s ORDER BY seq",
            (conversation,),
        ).fetchall()


def _answered_once_in_order(rows: list[tuple[Any, ...]]) -> list[str]:
    """The customer message ids, after checking each is answered once, in their order.

    Every answer comes after its question, and answers come in the questions' order (a
    turn cut by a fault is answered before the next question's answer, not after it).
    """
    customer = [r for r in rows if r[1] == "customer"]
    answers = [r for r in rows if r[1] != "customer"]
    ids = [r[3] for r in customer]
    assert len(ids) == len(set(ids)), "a message stored twice"
    assert [r[4] for r in answers] == ids, "a message unanswered, answered twice or out of order"
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    asked = {r[3]: r[0] for r in customer}
    assert all(asked[r[4]] < r[0] for r in answers), "an answer before its question"
    return ids


def test_three_servers_two_workers_under_faults(tmp_path: Path, postgres_url: str) -> None:
    env = _environment(tmp_path, postgres_url)
    headers = customer_headers("alice")
    with ExitStack() as stack:
        servers = [_server(stack, tmp_path, env) for _ in range(3)]
        workers = [_worker(stack, tmp_path, env, n) for n in range(2)]
        with ThreadPoolExecutor(max_workers=24) as pool:
            # 1. one message id, every server at once
            same = {"text": "Is anyone there? My invoice is wrong", "message_id": "same"}
            twins = list(
                pool.map(
                    lambda url: _post(url, "/v1/conversations/twins/messages", same, headers),
                    servers,
                )
            )
            assert [r.status_code for r in twins] == [200] * 3
            assert sorted(r.json()["duplicate"] for r in twins) == [False, True, True]
            assert len({r.json()["reply"] for r in twins}) == 1

            # 2. twenty messages to one conversation over the servers
            def send(number: int) -> httpx.Response:
                text = f"Please update the billing contact to person{number}@example.com"
                body = {"text": text, "message_id": f"m{number:02d}"}
                return _post(
                    servers[number % 3], "/v1/conversations/shared/messages", body, headers
                )

            replies = list(pool.map(send, range(20)))
            assert [r.status_code for r in replies] == [200] * 20
            rows = _messages(postgres_url, "shared")
            assert sorted(_answered_once_in_order(rows)) == [f"m{n:02d}" for n in range(20)]
            emails = [re.findall(r"<EMAIL_ADDRESS_\d+>", r[2]) for r in rows if r[1] == "customer"]
            assert len({e[0] for e in emails}) == 20  # distinct values, distinct placeholders
            assert "@example.com" not in str(rows)

            # 3. tickets by webhook, some delivered twice, a worker killed mid-job
            def deliver(number: int) -> httpx.Response:
                event = {
                    "event_id": f"ev-{number}",
                    "ticket_id": f"T-{number}",
                    "customer_id": "acme",
                    "subject": "Help",
                    "body": f"Ticket {number}",
                }
                raw, signed = _signed(event)
                url = servers[number % 3]
                return httpx.post(
                    f"{url}/v1/webhooks/tickets", content=raw, headers=signed, timeout=60
                )

            first = list(pool.map(deliver, range(30)))
            os.kill(workers[0].pid, signal.SIGKILL)  # mid-job: tickets are being processed
            again = list(pool.map(deliver, range(0, 30, 3)))  # redelivered to the same servers
            assert all(r.status_code in (200, 202) for r in first + again), [r.text for r in first]
            _wait_for_tickets(postgres_url, 30, workers[1], tmp_path / "worker-1.log")
            for number in range(30):
                assert (
                    len(_answered_once_in_order(_messages(postgres_url, f"ticket-T-{number}"))) == 1
                )

            # 4. PostgreSQL restarts mid-load; 5. Redis stops for a while
            acknowledged = _load_through_outages(pool, servers)
            stored = {
                (f"outage-{n}", message_id)
                for n in range(20)
                for message_id in _answered_once_in_order(_messages(postgres_url, f"outage-{n}"))
            }
            assert acknowledged <= stored, f"lost: {sorted(acknowledged - stored)}"
            assert all(UNAVAILABLE), "a 503 without Retry-After"
            print(f"outage: {len(acknowledged)} acknowledged, {len(UNAVAILABLE)} answers 503")


def _wait_for_tickets(
    database: str, count: int, worker: subprocess.Popen[bytes], log: Path
) -> None:
    def done() -> bool:
        with psycopg.connect(database) as connection:
            answered = connection.execute(
                "SELECT count(DISTINCT conversation_id) FROM messages"
                " WHERE conversation_id LIKE 'ticket-%%' AND author <> 'customer'"
            ).fetchone()
        return answered is not None and answered[0] >= count

    _wait(done, worker, log)


def _load_through_outages(pool: ThreadPoolExecutor, servers: list[str]) -> set[tuple[str, str]]:
    """Messages sent while PostgreSQL restarts and Redis is down; the acknowledged ones.

    60 messages over 20 conversations of 4 customers, inside the rate limits.
    """
    users = [customer_headers(f"user{n}") for n in range(4)]

    def send(number: int) -> tuple[str, str, int, str]:
        conversation = f"outage-{number % 20}"
        body = {"text": f"Outage message {number}", "message_id": f"o{number:03d}"}
        path = f"/v1/conversations/{conversation}/messages"
        response = _post(servers[number % 3], path, body, users[number % 20 % 4])
        return conversation, body["message_id"], response.status_code, response.text[:200]

    futures = [pool.submit(send, n) for n in range(40)]
    time.sleep(1.0)
    subprocess.run([*PG_CLUSTER, _pg_version(), "main", "restart"], check=True, timeout=120)
    subprocess.run(["redis-cli", "-p", "6379", "shutdown", "nosave"], check=False, timeout=30)
    futures += [pool.submit(send, n) for n in range(40, 60)]
    time.sleep(3.0)
    _start_redis()
    results = [future.result() for future in futures]
    failed = [result for result in results if result[2] != 200]
    assert not failed, failed
    return {(conversation, message_id) for conversation, message_id, _, _ in results}


def _pg_version() -> str:
    return sorted(os.listdir("/etc/postgresql"))[-1]


def _start_redis() -> None:
    subprocess.run(
        ["redis-server", "--daemonize", "yes", "--bind", "127.0.0.1", "-::1", "--port", "6379",
         "--save", "", "--appendonly", "no", "--dir", "/var/lib/redis",
         "--logfile", "/var/log/redis/ci.log"],
        check=True, timeout=30,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while subprocess.run(["redis-cli", "ping"], capture_output=True).returncode != 0:
        assert time.monotonic() < deadline, "redis did not come back"
        time.sleep(0.2)
