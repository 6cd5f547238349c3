"""`PostgresDatabase` and the schema's migrations, on the machine's PostgreSQL."""

from __future__ import annotations

import pytest

from pyagent_providers import StoreUnavailable, UserError
from pyagent_providers.postgres import PostgresDatabase, database_url
from pyagent_providers.schema import current, head, upgrade_sync


async def test_a_migrated_database_has_every_table(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url)
    rows = await db.fetchall(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
    )
    tables = {row[0] for row in rows}
    assert {
        "conversations",
        "messages",
        "escalations",
        "actions",
        "audit_events",
        "calls",
    } <= tables
    assert current(postgres_url) == head()
    upgrade_sync(postgres_url)  # again: nothing to do
    await db.close()


async def test_a_transaction_that_fails_leaves_nothing(postgres_url: str) -> None:
    db = PostgresDatabase(postgres_url)
    with pytest.raises(RuntimeError):
        async with db.transaction() as connection:
            await connection.execute("INSERT INTO conversations (id) VALUES (%s)", ("c1",))
            raise RuntimeError("half-way")
    assert await db.fetchone("SELECT id FROM conversations") is None
    await db.close()


async def test_an_unreachable_database_is_unavailable_not_a_driver_error() -> None:
    db = PostgresDatabase("postgresql://nobody@127.0.0.1:1/none", timeout=0.5)
    with pytest.raises(StoreUnavailable):
        await db.fetchone("SELECT 1")
    await db.close()


def test_the_url_comes_from_the_environment() -> None:
    assert database_url({}) is None
    url = "postgresql://u@h:5432/db"
    assert database_url({"PYAGENT_DATABASE_URL": url}) == url
    with pytest.raises(UserError, match="postgresql://"):
        database_url({"PYAGENT_DATABASE_URL": "mysql://u@h/db"})
