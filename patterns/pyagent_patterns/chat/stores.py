"""`open_store`: the conversation store the configuration names, SQLite or PostgreSQL.

Every entry point that opens conversations (the cookbook's and recipes' chat handlers,
``pyagent chat``, ``serve``, ``queue``, ``audit``, ``replay``) goes through it, so one
setting moves them all: ``PYAGENT_DATABASE_URL=postgresql://…`` puts every store in that
database, shared by several processes and machines; unset, they are SQLite files under
``$PYAGENT_DATA_DIR``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

from pyagent_providers.postgres import database_url, is_postgres_url

from .sqlite_store import SQLiteConversationStore
from .store import ConversationStore

__all__ = ["close_store", "open_store"]


def open_store(store: str | Path | None = None) -> ConversationStore:
    """The conversation store at `store`.

    Args:
        store: A ``postgresql://`` URL (a `PostgresConversationStore`), a SQLite file, or
            ``None``: ``$PYAGENT_DATABASE_URL`` when it is set, else the default SQLite
            file (``$PYAGENT_DATA_DIR/conversations.sqlite3``).

    Raises:
        UserError: ``$PYAGENT_DATABASE_URL`` is set to something else than a PostgreSQL URL.
        MissingDependencyError: PostgreSQL without the ``postgres`` extra.
        StoreUnavailable: The PostgreSQL database cannot be reached.
    """
    url = database_url() if store is None else None
    if isinstance(store, str) and is_postgres_url(store):
        url = store
    if url is not None:
        from ..postgres import PostgresConversationStore  # psycopg is an extra

        return PostgresConversationStore(url)
    return SQLiteConversationStore(store)


async def close_store(store: ConversationStore) -> None:
    """Close `store`: a SQLite store's files, a PostgreSQL store's pool and lock connection.

    Short-lived programs (the command line) must close a PostgreSQL store before their
    event loop ends: a pool left open can keep ``asyncio.run`` from returning.
    """
    close: Any = getattr(store, "close", None)
    if close is None:
        return
    closing = close()
    if inspect.isawaitable(closing):
        await closing
