"""`SQLiteFile`: writes under another process's lock fail cleanly and never block the loop."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from pyagent_providers import StoreUnavailable
from pyagent_providers.sqlite import SQLiteFile

SCHEMA = "CREATE TABLE IF NOT EXISTS t (n INTEGER PRIMARY KEY, v TEXT)"


async def test_a_lock_held_elsewhere_stalls_one_call_not_the_event_loop(tmp_path: Path) -> None:
    db = SQLiteFile(tmp_path / "x.sqlite3", schema=SCHEMA, busy_timeout=0.5)
    other = sqlite3.connect(tmp_path / "x.sqlite3", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    ticks = 0

    async def heartbeat() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    beat = asyncio.create_task(heartbeat())
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="retry"):
        await db.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('a')"))
    beat.cancel()
    assert time.monotonic() - started >= 0.4 and ticks >= 10  # the loop went on meanwhile
    other.execute("ROLLBACK")
    await db.write(lambda c: c.execute("INSERT INTO t (v) VALUES ('b')"))
    assert await db.read(lambda c: c.execute("SELECT v FROM t").fetchall()) == [("b",)]


async def test_a_failed_write_is_rolled_back_whole(tmp_path: Path) -> None:
    db = SQLiteFile(tmp_path / "x.sqlite3", schema=SCHEMA)

    def half(c: sqlite3.Connection) -> None:
        c.execute("INSERT INTO t (v) VALUES ('first')")
        raise ValueError("then something failed")

    with pytest.raises(ValueError):
        await db.write(half)
    assert await db.read(lambda c: c.execute("SELECT COUNT(*) FROM t").fetchone()) == (0,)
