"""The PostgreSQL stores across processes: turn locks, numbering, merging, leases.

Two store instances have two pools and two lock connections, as two processes would.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from pyagent_patterns.chat import SQLiteConversationStore, open_store
from pyagent_patterns.postgres import SECRET_ENV, PostgresConversationStore
from pyagent_patterns.postgres.locks import lock_key
from pyagent_providers import ConfigurationError, StoreUnavailable, UserError
from pyagent_providers.postgres import PostgresDatabase
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture
async def two(postgres_url: str) -> AsyncIterator[tuple[PostgresConversationStore, ...]]:
    """Two stores on one database: two processes."""
    stores = (PostgresConversationStore(postgres_url), PostgresConversationStore(postgres_url))
    yield stores
    for store in stores:
        await store.close()


def advisory_locks(url: str) -> list[tuple[int, int]]:
    """``(pid, key)`` of the advisory locks granted in the database at `url`."""
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            "SELECT l.pid, (l.classid::bigint << 32) | l.objid::bigint FROM pg_locks AS l"
            " JOIN pg_database AS d ON d.oid = l.database"
            " WHERE l.locktype = 'advisory' AND l.granted AND d.datname = current_database()"
        ).fetchall()
    return [(pid, key) for pid, key in rows]


def signed(key: int) -> int:
    return key - (1 << 64) if key >= 1 << 63 else key


async def test_two_processes_racing_for_one_conversation_take_turns(
    two: tuple[PostgresConversationStore, ...],
) -> None:
    spans: list[tuple[float, float]] = []

    async def turn(store: PostgresConversationStore) -> None:
        async with store.turn_lock("c1"):
            began = time.monotonic()
            await asyncio.sleep(0.05)
            spans.append((began, time.monotonic()))

    await asyncio.gather(*(turn(two[i % 2]) for i in range(8)))
    spans.sort()
    assert len(spans) == 8
    for (_, ended), (began, _) in zip(spans, spans[1:], strict=False):
        assert began >= ended  # never two turns of c1 at once
    # other conversations do not wait for c1
    async with two[0].turn_lock("c1"):
        async with asyncio.timeout(2):
            async with two[1].turn_lock("c2"):
                pass


async def test_appends_from_two_processes_get_distinct_numbers(
    two: tuple[PostgresConversationStore, ...],
) -> None:
    await two[0].create("c1", user_id=None)
    stored = await asyncio.gather(
        *(
            two[i % 2].append("c1", author="customer", content=f"m{i}", message_id=f"m{i}")
            for i in range(20)
        )
    )
    assert sorted(m.seq for m in stored) == list(range(1, 21))
    conversation = await two[1].get("c1")
    assert conversation is not None
    assert sorted(m.content for m in conversation.messages) == sorted(f"m{i}" for i in range(20))
    assert {m.seq: m.content for m in stored} == {m.seq: m.content for m in conversation.messages}


async def test_placeholders_added_by_two_processes_are_merged(
    two: tuple[PostgresConversationStore, ...],
) -> None:
    await two[0].create("c1", user_id=None)
    # each process read an empty map, then saved what it added
    await asyncio.gather(
        two[0].update("c1", placeholders={"d-email": "<EMAIL_ADDRESS_1>"}),
        two[1].update("c1", placeholders={"d-phone": "<PHONE_NUMBER_1>"}),
    )
    conversation = await two[0].get("c1")
    assert conversation is not None
    assert conversation.placeholders == {
        "d-email": "<EMAIL_ADDRESS_1>",
        "d-phone": "<PHONE_NUMBER_1>",
    }


async def test_a_terminated_connection_releases_the_turn_lock(
    two: tuple[PostgresConversationStore, ...],
    postgres_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    first, second = two
    entered = asyncio.Event()

    async def crashed_turn() -> None:
        async with first.turn_lock("c1"):
            entered.set()
            await asyncio.sleep(1.5)  # the process "dies" meanwhile

    crashed = asyncio.create_task(crashed_turn())
    await entered.wait()
    pid = first.locks.backend_pid()
    assert pid is not None and (pid, lock_key("c1")) in [
        (p, signed(k)) for p, k in advisory_locks(postgres_url)
    ]
    waiting = asyncio.create_task(_hold_briefly(second, "c1"))
    await asyncio.sleep(0.3)
    assert not waiting.done()  # the first still has it

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    async with asyncio.timeout(2):
        await waiting  # taken over as soon as the session ended
    with caplog.at_level(logging.WARNING, logger="pyagent_patterns.postgres.locks"):
        await crashed  # the turn that lost its lock ends without an error...
    assert "turn lock was lost" in caplog.text  # ...but says so
    async with asyncio.timeout(2), first.turn_lock("c1"):  # and the store works again
        assert first.locks.backend_pid() not in (None, pid)


async def _hold_briefly(store: PostgresConversationStore, conversation_id: str) -> None:
    async with store.turn_lock(conversation_id):
        pass


HOLDER = """
import asyncio, sys
from pyagent_patterns.postgres import PostgresConversationStore

async def main():
    store = PostgresConversationStore(sys.argv[1])
    async with store.turn_lock("c1"):
        print("locked", flush=True)
        await asyncio.sleep(120)

asyncio.run(main())
"""


async def test_a_killed_process_frees_its_conversation_for_another_worker(
    postgres_url: str,
) -> None:
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, postgres_url, stdout=asyncio.subprocess.PIPE
    )
    store = PostgresConversationStore(postgres_url)
    try:
        assert holder.stdout is not None
        line = await asyncio.wait_for(holder.stdout.readline(), 30)
        assert line.strip() == b"locked"
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.5), store.turn_lock("c1"):
                pass
        os.kill(holder.pid, signal.SIGKILL)  # kill -9: no cleanup runs in the holder
        async with asyncio.timeout(5), store.turn_lock("c1"):
            pass
    finally:
        if holder.returncode is None:
            holder.kill()
        await holder.wait()
        await store.close()


async def test_a_turn_cancelled_while_waiting_leaves_no_lock_behind(
    two: tuple[PostgresConversationStore, ...], postgres_url: str
) -> None:
    first, second = two
    async with first.turn_lock("c1"):
        waiter = asyncio.create_task(_hold_briefly(second, "c1"))
        await asyncio.sleep(0.2)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
    for _ in range(20):  # a shielded try may still be finishing
        await asyncio.sleep(0.05)
        if not advisory_locks(postgres_url):
            break
    assert advisory_locks(postgres_url) == []
    async with asyncio.timeout(2), first.turn_lock("c1"), second.turn_lock("c2"):
        pass


async def test_many_concurrent_turns_share_one_lock_connection(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url, max_size=3)
    store = PostgresConversationStore(db)
    try:

        async def turn(i: int) -> int:
            async with store.turn_lock(f"c{i}"):
                await store.create(f"c{i}", user_id=None)
                await asyncio.sleep(0.05)  # every turn holds its lock at once
                message = await store.append(f"c{i}", author="customer", content="hi")
                return message.seq

        async with asyncio.timeout(30):
            assert await asyncio.gather(*(turn(i) for i in range(60))) == [1] * 60
        with psycopg.connect(POSTGRES_ADMIN_URL) as admin:
            (connections,) = admin.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                (postgres_url.rsplit("/", 1)[1],),
            ).fetchone() or (0,)
        assert connections <= 3 + 1  # the pool's and the one lock connection
    finally:
        await store.close()


def test_the_secret_comes_from_the_environment_when_set(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_ENV, "ab" * 32)
    assert PostgresConversationStore(postgres_url).secret() == bytes.fromhex("ab" * 32)
    with psycopg.connect(postgres_url) as connection:
        stored = connection.execute("SELECT count(*) FROM pyagent_secret").fetchone()
    assert stored == (0,)  # a dump of the database holds no key
    monkeypatch.setenv(SECRET_ENV, "not hex")
    with pytest.raises(ConfigurationError, match=SECRET_ENV):
        PostgresConversationStore(postgres_url)
    monkeypatch.delenv(SECRET_ENV)
    kept = PostgresConversationStore(postgres_url).secret()
    assert len(kept) == 32 and PostgresConversationStore(postgres_url).secret() == kept


def test_an_unreachable_database_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable):
        PostgresConversationStore("postgresql://nobody@127.0.0.1:1/none")


def test_open_store_follows_the_url_or_the_environment(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PYAGENT_DATABASE_URL", raising=False)
    assert isinstance(open_store(postgres_url), PostgresConversationStore)
    assert isinstance(open_store(tmp_path / "a.sqlite3"), SQLiteConversationStore)
    assert isinstance(open_store(str(tmp_path / "b.sqlite3")), SQLiteConversationStore)
    assert isinstance(open_store(), SQLiteConversationStore)  # under $PYAGENT_DATA_DIR
    monkeypatch.setenv("PYAGENT_DATABASE_URL", postgres_url)
    assert isinstance(open_store(), PostgresConversationStore)
    assert isinstance(open_store(tmp_path / "c.sqlite3"), SQLiteConversationStore)  # named
    monkeypatch.setenv("PYAGENT_DATABASE_URL", "mysql://nope")
    with pytest.raises(UserError, match="postgresql://"):
        open_store()
