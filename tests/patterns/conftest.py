"""The conversation stores' backends, for tests about storage behaviour.

`store_factory` runs a test once on SQLite (a file) and once on PostgreSQL (a fresh
migrated database): each call opens a new store on the same data, as another process or
a restart would.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from pyagent_patterns.chat import ConversationStore, SQLiteConversationStore

TABLES = ("conversations", "messages", "escalations", "actions", "audit_events", "calls")


class StoreFactory:
    """Opens stores of one backend on one database; each call is a new instance."""

    def __init__(self, backend: str, location: str | Path) -> None:
        self.backend = backend
        self.location = location
        self.opened: list[ConversationStore] = []

    def __repr__(self) -> str:
        return f"StoreFactory({self.backend})"

    def __call__(self) -> ConversationStore:
        store: ConversationStore
        if self.backend == "postgres":
            from pyagent_patterns.postgres import PostgresConversationStore

            store = PostgresConversationStore(str(self.location))
        else:
            store = SQLiteConversationStore(self.location)
        self.opened.append(store)
        return store

    def dump(self) -> bytes:
        """Everything stored, as bytes (to check that no raw personal data is kept)."""
        if self.backend == "postgres":
            import psycopg

            with psycopg.connect(str(self.location)) as connection:
                rows = [
                    row[0]
                    for table in TABLES
                    for row in connection.execute(
                        f"SELECT row_to_json(t)::text FROM {table} AS t"  # type: ignore[arg-type]
                    ).fetchall()
                ]
            return "\n".join(rows).encode()
        folder = Path(self.location).parent
        return b"".join(p.read_bytes() for p in folder.iterdir() if p.is_file())

    async def close(self) -> None:
        for store in self.opened:
            closing = store.close()  # type: ignore[attr-defined]
            if inspect.isawaitable(closing):
                await closing


@pytest.fixture(params=["sqlite", "postgres"])
async def store_factory(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[StoreFactory]:
    """New stores on one SQLite file, or on one fresh PostgreSQL database."""
    if request.param == "postgres":
        factory = StoreFactory("postgres", request.getfixturevalue("postgres_url"))
    else:
        factory = StoreFactory("sqlite", tmp_path / "c.sqlite3")
    yield factory
    await factory.close()
