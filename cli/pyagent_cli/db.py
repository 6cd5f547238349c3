"""``pyagent db upgrade|current``: the PostgreSQL schema of ``$PYAGENT_DATABASE_URL``.

``upgrade`` applies the migrations the database lacks (several processes running it at
once wait for one another) and the ticket queue's schema (procrastinate's own, applied by
procrastinate), and prints the revision it is at; ``current`` prints the
revision without changing anything. SQLite needs neither: its files create their tables.
"""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from pyagent_providers import StoreUnavailable, UserError
from pyagent_providers.postgres import DATABASE_URL_ENV, database_url

__all__ = ["ACTIONS", "db_command"]

ACTIONS = ("upgrade", "current")


def db_command(action: str, *, out: TextIO | None = None) -> int:
    """Run `action` on ``$PYAGENT_DATABASE_URL``'s schema; returns the exit code.

    Raises:
        UserError: The variable is unset (or not a PostgreSQL URL), or `action` unknown.
        StoreUnavailable: The database cannot be reached.
    """
    writer = out or sys.stdout
    if action not in ACTIONS:
        raise UserError(f"unknown action {action!r}: use {' or '.join(ACTIONS)}")
    url = database_url()
    if url is None:
        raise UserError(
            f"{DATABASE_URL_ENV} is not set: give the PostgreSQL database as"
            f" {DATABASE_URL_ENV}=postgresql://user@host:port/db (SQLite needs no migrations)"
        )
    from pyagent_providers.schema import head, upgrade_sync

    if action == "upgrade":
        upgrade_sync(url)
        _queue_schema(url)
    revision = _current(url)
    if revision is None:
        writer.write("no schema yet (pyagent db upgrade creates it)\n")
    elif revision == head():
        writer.write(f"{revision} (head)\n")
    else:
        writer.write(f"{revision} (behind {head()}: run pyagent db upgrade)\n")
    return 0


def _current(url: str) -> str | None:
    from sqlalchemy.exc import OperationalError

    from pyagent_providers.schema import current

    try:
        return current(url)
    except OperationalError as exc:  # the driver's message may hold the URL: not shown
        raise StoreUnavailable(f"cannot read the database: {type(exc.orig).__name__}") from exc


def _queue_schema(url: str) -> None:
    """The webhook queue's tables, when the server package is installed."""
    try:
        from pyagent_server.tickets import ensure_queue_schema
    except ImportError:  # no server extra: no webhook queue to prepare
        return
    asyncio.run(ensure_queue_schema(url))
