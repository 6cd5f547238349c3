"""`SQLiteFile`: the embedded default database, used off the event loop and across processes.

Every SQLite-backed store (conversations, the human queue, costs) goes through one
`SQLiteFile`, so they all connect the same way:

* WAL mode, so readers never wait for a writer;
* writes in ``BEGIN IMMEDIATE`` transactions: the write lock is taken before the first
  read of the transaction, so a read-then-write (the next message number, a claim) is
  atomic across processes sharing the file, and nothing is lost or numbered twice;
* every statement runs in a worker thread (`read` / `write` are coroutines): a lock held
  by another process stalls that one call, never the event loop (health checks and other
  conversations go on);
* a lock held longer than `busy_timeout` seconds, or a file that cannot be opened,
  raises `StoreUnavailable` (HTTP 503 with ``Retry-After``) after rolling back.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from .errors import StoreUnavailable

__all__ = ["SQLiteFile"]

T = TypeVar("T")


class SQLiteFile:
    """One SQLite database file (or ``":memory:"``), shared by a process's threads.

    Args:
        path: The file (its directory is created), or ``":memory:"``.
        schema: SQL run once at open (``CREATE TABLE IF NOT EXISTS ...``).
        busy_timeout: Seconds a statement waits for another process's lock.
    """

    def __init__(self, path: str | Path, *, schema: str = "", busy_timeout: float = 10.0) -> None:
        self.path = path if path == ":memory:" else Path(path)
        if isinstance(self.path, Path):
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        try:
            # isolation_level=None: no implicit transactions; `write` opens its own.
            self._db = sqlite3.connect(
                str(self.path), check_same_thread=False, timeout=busy_timeout, isolation_level=None
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            if schema:  # idempotent statements; executescript manages its own transaction
                self._db.executescript(schema)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"cannot open the database {self.path}: {exc}") from exc

    def __repr__(self) -> str:
        return f"SQLiteFile({str(self.path)!r})"

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    async def read(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """Run `query` (reads only) in a worker thread."""
        return await asyncio.to_thread(self.read_sync, query)

    async def write(self, change: Callable[[sqlite3.Connection], T]) -> T:
        """Run `change` in one ``BEGIN IMMEDIATE`` transaction, in a worker thread.

        Raises:
            StoreUnavailable: The database stayed locked, or could not be written.
        """
        return await asyncio.to_thread(self.write_sync, change)

    def read_sync(self, query: Callable[[sqlite3.Connection], T]) -> T:
        """`read` for synchronous callers (command-line tools, reports)."""
        with self._lock:
            try:
                return query(self._db)
            except sqlite3.OperationalError as exc:
                raise _unavailable(exc) from exc

    def write_sync(self, change: Callable[[sqlite3.Connection], T]) -> T:
        """`write` for synchronous callers."""
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _unavailable(exc) from exc
            try:
                result = change(self._db)
                self._db.execute("COMMIT")
            except BaseException as exc:
                if self._db.in_transaction:  # SQLite may have rolled back already
                    self._db.execute("ROLLBACK")
                if isinstance(exc, sqlite3.OperationalError):
                    raise _unavailable(exc) from exc
                raise
            return result


def _unavailable(error: sqlite3.OperationalError) -> StoreUnavailable:
    # The message names the condition ("database is locked"), never a row's content.
    return StoreUnavailable(f"the database is unavailable ({error}); retry shortly")
