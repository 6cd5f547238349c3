"""`TurnLocks`: one conversation's turns, one at a time, across every process.

A turn holds a **session-level advisory lock** keyed by its conversation
(``pg_advisory_lock`` semantics: the lock belongs to a database session, not to a
transaction, and PostgreSQL drops it when the session ends). That is the lease after
which another worker takes a crashed worker's message over: a process that dies, even by
``kill -9``, closes its connection, its backend exits and every lock it held is free at
once; no timer, no row to clean up.

One dedicated connection per process holds all of that process's turn locks (a session
can hold any number of advisory locks), so concurrent turns cost one connection, not one
each: 100 conversations at once neither exhaust the queries' pool nor PostgreSQL's
``max_connections``. The consequences, handled here:

* The locks of one session are reentrant, so two turns of one conversation in this
  process must not both ask: an `asyncio.Lock` per key queues them first, and only one
  of them talks to PostgreSQL.
* A blocking ``pg_advisory_lock`` would stall the shared connection for every other
  conversation, so the lock is taken with ``pg_try_advisory_lock``; a turn that finds its
  conversation held by another process waits with ``asyncio.sleep`` and tries again
  (10 ms doubling to `poll_seconds`). Waiting holds no connection and never blocks the
  event loop. A conversation's turns rarely overlap across processes (a redelivery to
  another worker, a person's action from ``pyagent queue``), so polling costs little;
  it is not fair, though: under a constant stream of turns in one process, a waiter in
  another could wait long.
* A turn cancelled while its ``pg_try_advisory_lock`` is in flight may have been given
  the lock: the statement is shielded, and a lock it took is released in the background.
  The unlock on the way out is shielded too.
* If the connection breaks mid-turn (the server restarted, an administrator terminated
  the backend), every lock it held is gone: the turns go on, a warning says so, and the
  next turn opens a new connection.

Keys are 64 bits of SHA-256 of ``pyagent.turn`` and the conversation id, computed here
(not by the server), so they are the same for every process and PostgreSQL version; two
conversations share a key with probability 2⁻⁶⁴.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import weakref
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager, suppress
from functools import partial
from typing import TYPE_CHECKING, Any, LiteralString

import psycopg

from pyagent_providers import StoreUnavailable

if TYPE_CHECKING:
    from psycopg.rows import TupleRow

    Connection = psycopg.AsyncConnection[TupleRow]

__all__ = ["TurnLocks", "lock_key"]

logger = logging.getLogger(__name__)

_TRY_LOCK: LiteralString = "SELECT pg_try_advisory_lock(%s::bigint)"
_UNLOCK: LiteralString = "SELECT pg_advisory_unlock(%s::bigint)"
_LOST = (
    "a turn lock was lost: its connection to the database ended during the turn, so"
    " another process may have run a turn of the same conversation meanwhile"
)


def lock_key(name: str) -> int:
    """The advisory lock key (a signed 64-bit integer) of the conversation `name`."""
    digest = hashlib.sha256(b"pyagent.turn\x00" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class TurnLocks:
    """Advisory locks for the turns of one process, on one dedicated connection.

    Args:
        url: ``postgresql://user@host:port/db``.
        poll_seconds: Longest wait between two tries while another process holds the lock.
        connect_timeout: Seconds to wait for the connection before `StoreUnavailable`.
    """

    def __init__(self, url: str, *, poll_seconds: float = 0.25, connect_timeout: int = 10) -> None:
        self.url = url
        self.poll_seconds = poll_seconds
        self.connect_timeout = connect_timeout
        self._connection: Connection | None = None
        self._generation = 0  # which connection a held lock was taken on
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connecting: asyncio.Lock | None = None
        self._local: weakref.WeakValueDictionary[int, asyncio.Lock] = weakref.WeakValueDictionary()
        self._background: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        return "TurnLocks(<url hidden>)"  # the URL may carry a password

    @asynccontextmanager
    async def hold(self, name: str) -> AsyncGenerator[None]:
        """Hold `name`'s lock for the block, waiting (off the event loop) while it is taken.

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        key = lock_key(name)
        async with self._local_lock(key):  # one asker per key in this process
            generation = await self._acquire(key)
            try:
                yield
            finally:
                await self._release(key, generation)

    def backend_pid(self) -> int | None:
        """The server process of the lock connection (``None`` before the first lock)."""
        connection = self._connection
        return None if connection is None or connection.closed else connection.info.backend_pid

    async def close(self) -> None:
        """Close the lock connection (releasing every lock it holds)."""
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        connection, self._connection = self._connection, None
        if connection is not None:
            await connection.close()

    # -- inside -------------------------------------------------------------------------

    def _local_lock(self, key: int) -> asyncio.Lock:
        lock = self._local.get(key)
        if lock is None:
            lock = self._local[key] = asyncio.Lock()
        return lock

    async def _acquire(self, key: int) -> int:
        delay = 0.01
        while True:
            taken, generation = await self._try_lock(key)
            if taken:
                return generation
            await asyncio.sleep(delay)  # another process has it
            delay = min(delay * 2, self.poll_seconds)

    async def _try_lock(self, key: int) -> tuple[bool, int]:
        for attempt in range(2):  # a connection found broken is replaced once
            connection, generation = await self._session()
            attempt_task = asyncio.ensure_future(_scalar(connection, _TRY_LOCK, key))
            try:
                taken = await asyncio.shield(attempt_task)
            except asyncio.CancelledError:
                # the statement still completes: a lock it took must not stay behind
                attempt_task.add_done_callback(partial(self._undo, key, connection))
                raise
            except psycopg.OperationalError as exc:
                await self._discard(connection)
                if attempt:
                    raise StoreUnavailable(
                        f"the database is unavailable: {type(exc).__name__}"
                    ) from exc
                continue
            return bool(taken), generation
        raise AssertionError("unreachable")  # pragma: no cover

    def _undo(self, key: int, connection: Connection, attempt: asyncio.Task[Any]) -> None:
        if attempt.cancelled() or attempt.exception() is not None or not attempt.result():
            return
        self._spawn(_scalar(connection, _UNLOCK, key))

    async def _release(self, key: int, generation: int) -> None:
        connection = self._connection
        if connection is None or connection.closed or generation != self._generation:
            logger.warning(_LOST)
            return
        unlock = self._spawn(_scalar(connection, _UNLOCK, key))  # completes if cancelled
        try:
            released = await asyncio.shield(unlock)
        except psycopg.OperationalError:
            await self._discard(connection)  # the lock went with the session
            logger.warning(_LOST)
            return
        if not released:
            logger.warning("a turn lock was not held when the turn ended")

    async def _session(self) -> tuple[Connection, int]:
        loop = asyncio.get_running_loop()
        connection = self._connection
        if connection is not None and not connection.closed and self._loop is loop:
            return connection, self._generation
        if self._connecting is None or self._loop is not loop:
            self._connecting, self._loop = asyncio.Lock(), loop
            self._connection = None  # a connection of another event loop is of no use
        async with self._connecting:
            connection = self._connection
            if connection is None or connection.closed:
                try:
                    connection = await psycopg.AsyncConnection.connect(
                        self.url, autocommit=True, connect_timeout=self.connect_timeout
                    )
                except psycopg.OperationalError as exc:
                    raise StoreUnavailable(
                        f"the database is unavailable: {type(exc).__name__}"
                    ) from exc
                self._connection = connection
                self._generation += 1
            return connection, self._generation

    async def _discard(self, connection: Connection) -> None:
        if self._connection is connection:
            self._connection = None
        with suppress(psycopg.Error):
            await connection.close()

    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.ensure_future(work)
        self._background.add(task)
        task.add_done_callback(self._settled)
        return task

    def _settled(self, task: asyncio.Task[Any]) -> None:
        self._background.discard(task)
        if not task.cancelled() and task.exception() is not None:  # retrieved: no warning
            logger.debug("a background unlock failed: %s", type(task.exception()).__name__)


async def _scalar(connection: Connection, sql: LiteralString, key: int) -> Any:
    cursor = await connection.execute(sql, (key,))
    row = await cursor.fetchone()
    return None if row is None else row[0]
