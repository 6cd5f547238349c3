"""``pyagent serve --workers N`` under load: messages per second and latency per worker count.

For each N (``--workers 1,2,4``): a fresh database (PostgreSQL with ``--database
postgres``: a new database on the machine's server, migrated; or a SQLite file), then
``pyagent serve --workers N --classification local`` in a child process, its models the
OpenAI wire format of the fake API server (``bench._fakeserver``, answering after
``--latency`` seconds, 0.2 by default). A client in this process keeps ``--concurrency``
requests in flight over ``--conversations`` conversations until ``--messages`` messages are
answered, and reports messages per second, latency p50/p95 (from the request to its
reply), errors, and each count's throughput as a ratio to one worker's, measured in the
same run. Every reply is checked: one per message id.

Timing depends on the machine (2 cores here, shared with the fake API server and this
client); it is reported, never asserted.

    .venv/bin/python -m bench.throughput --workers 1,2,4 --database postgres [--messages 400]
        [--concurrency 32] [--conversations 64] [--latency 0.2]
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from bench._fakeserver import FakeServerProcess

__all__ = ["run_served"]

ADMIN_URL = os.environ.get(
    "PYAGENT_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PYAGENT_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
SECRET_HEX = "00112233445566778899aabbccddeeff"
TEXTS = (
    "How do I reset my password?",
    "Where can I download my invoices?",
    "My webhooks stopped firing after I rotated the API key",
    "Can I add three more seats to my plan?",
    "The mobile app crashes when I open a project",
    "How do I export my tasks to CSV?",
)


def run_served(
    workers: Sequence[int],
    *,
    database: str,
    messages: int,
    concurrency: int,
    conversations: int,
    latency: float,
) -> dict[str, Any]:
    """Measure each worker count in turn (see the module docstring)."""
    results: dict[str, Any] = {}
    with FakeServerProcess(latency) as api:
        for count in workers:
            with _database(database) as url, _server(count, url, api.openai_base_url) as base:
                run = f"w{count}-{os.getpid()}"  # fresh ids: Redis windows outlive a run
                results[str(count)] = asyncio.run(
                    _load(base, run, messages, concurrency, conversations)
                )
    one = results.get("1", {}).get("messages_per_s")
    for result in results.values():
        result["ratio_to_1_worker"] = round(result["messages_per_s"] / one, 2) if one else None
    return {
        "workers": results,
        "database": database,
        "latency_s": latency,
        "messages": messages,
        "concurrency": concurrency,
        "cpus": os.cpu_count(),
    }


@contextmanager
def _database(kind: str) -> Iterator[str]:
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="pyagent-bench-") as folder:
            yield str(Path(folder) / "conversations.sqlite3")
        return
    import psycopg

    from pyagent_providers.schema import upgrade_sync

    name = f"pyagent_bench_{os.getpid()}_{time.monotonic_ns()}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_sync(url)
    try:
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@contextmanager
def _server(workers: int, store: str, openai_base_url: str) -> Iterator[str]:
    port = _free_port()
    env = {
        **os.environ,
        "PYAGENT_CUSTOMER_SECRET": SECRET_HEX,
        "PYAGENT_AGENT_TOKENS": "bench=bench-token",
        "OPENAI_API_KEY": "bench-key",
        "OPENAI_BASE_URL": openai_base_url,
        "PYAGENT_REDIS_URL": REDIS_URL,  # rate limits shared by the workers, as deployed
        "HF_HUB_OFFLINE": "1",
    }
    env.pop("ANTHROPIC_API_KEY", None)
    command = [sys.executable, "-m", "pyagent_cli", "serve", "--classification", "local"]
    command += ["--workers", str(workers), "--port", str(port)]
    if store.startswith("postgresql://"):
        env["PYAGENT_DATABASE_URL"] = store
    else:
        command += ["--store", store]
    log = Path(tempfile.gettempdir()) / f"pyagent-bench-serve-{port}.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start; see {log}")
            try:
                if httpx.get(f"{base}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        yield base
    finally:
        process.terminate()
        process.wait(120)


def _token(user: str) -> str:
    from pyagent_server import issue_customer_token

    return issue_customer_token(bytes.fromhex(SECRET_HEX), user)


async def _load(
    base: str, run: str, messages: int, concurrency: int, conversations: int
) -> dict[str, Any]:
    """One customer per conversation, so the per-user and per-conversation limits (60
    and 20 a minute) stay out of the measurement."""
    latencies: list[float] = []
    replies: dict[str, int] = {}
    errors: dict[str, int] = {}
    slots = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    tokens = {n: _token(f"{run}-u{n}") for n in range(conversations)}
    async with httpx.AsyncClient(base_url=base, timeout=300, limits=limits) as client:

        async def one(number: int) -> None:
            async with slots:
                slot = number % conversations
                text = f"{TEXTS[number % len(TEXTS)]} (#{number})"
                await _send(
                    client,
                    {"Authorization": f"Bearer {tokens[slot]}"},
                    f"{run}-c{slot}",
                    f"m{number}",
                    text,
                    (latencies, replies, errors),
                )

        warm: tuple[list[float], dict[str, int], dict[str, int]] = ([], {}, {})
        auth = {"Authorization": f"Bearer {tokens[0]}"}
        await _send(client, auth, f"{run}-warm", "w0", TEXTS[0], warm)  # lazy loads too
        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(messages)))
        elapsed = time.perf_counter() - started
    ordered = sorted(latencies)
    return {
        "messages_per_s": round(len(latencies) / elapsed, 2),
        "latency_ms": {
            "p50": round(1000 * statistics.median(ordered), 1) if ordered else None,
            "p95": round(1000 * ordered[int(0.95 * (len(ordered) - 1))], 1) if ordered else None,
        },
        "answered": len(latencies),
        "answered_twice": sum(1 for n in replies.values() if n > 1),
        "errors": errors,
        "elapsed_s": round(elapsed, 2),
    }


async def _send(
    client: httpx.AsyncClient,
    headers: dict[str, str],
    conversation: str,
    message_id: str,
    text: str,
    into: tuple[list[float], dict[str, int], dict[str, int]],
) -> None:
    latencies, replies, errors = into
    started = time.perf_counter()
    try:
        response = await client.post(
            f"/v1/conversations/{conversation}/messages",
            json={"text": text, "message_id": message_id},
            headers=headers,
        )
    except httpx.HTTPError as error:
        errors[type(error).__name__] = errors.get(type(error).__name__, 0) + 1
        return
    if response.status_code != 200:
        errors[str(response.status_code)] = errors.get(str(response.status_code), 0) + 1
        return
    latencies.append(time.perf_counter() - started)
    replies[message_id] = replies.get(message_id, 0) + 1


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
