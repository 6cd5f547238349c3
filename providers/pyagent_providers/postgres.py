"""`PostgresDatabase`: the shared database, when ``PYAGENT_DATABASE_URL`` names PostgreSQL.

The PostgreSQL counterpart of `SQLiteFile`: every PostgreSQL-backed store (conversations,
the human queue, the action ledger, the audit trail, costs) goes through one, so they all
connect the same way:

* psycopg 3, async, with a connection pool (``psycopg_pool.AsyncConnectionPool``) opened
  on first use in the running event loop;
* `transaction` runs a block in one transaction on one pooled connection;
* `session` lends a connection for longer (an advisory lock held for a whole turn);
* a database that is down, restarting or out of connections raises `StoreUnavailable`
  (HTTP 503 with ``Retry-After``), never a driver error; nothing half-written stays:
  the transaction is rolled back.

Needs the ``postgres`` extra (``pip install 'pyagent[postgres]'``).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncGenerator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, cast

from .errors import MissingDependencyError, StoreUnavailable, UserError

if TYPE_CHECKING:
    from psycopg import AsyncConnection
    from psycopg.abc import QueryNoTemplate as Query
    from psycopg.rows import TupleRow
    from psycopg_pool import AsyncConnectionPool

    Connection = AsyncConnection[TupleRow]

__all__ = ["DATABASE_URL_ENV", "PostgresDatabase", "database_url", "is_postgres_url"]

DATABASE_URL_ENV = "PYAGENT_DATABASE_URL"
Row = tuple[Any, ...]
Args = tuple[Any, ...] | list[Any]


def database_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``$PYAGENT_DATABASE_URL`` when it names PostgreSQL; ``None`` (SQLite) when unset.

    Raises:
        UserError: It is set to something that is not a ``postgresql://`` URL.
    """
    url = (os.environ if environ is None else environ).get(DATABASE_URL_ENV, "").strip()
    if not url:
        return None
    if not is_postgres_url(url):
        raise UserError(
            f"{DATABASE_URL_ENV} must be a postgresql://user@host:port/db URL (unset: SQLite)"
        )
    return url


def is_postgres_url(url: str) -> bool:
    """Whether `url` names a PostgreSQL database."""
    return url.startswith(("postgresql://", "postgres://"))


class PostgresDatabase:
    """One PostgreSQL database, through a pool shared by the stores of a process.

    Args:
        url: ``postgresql://user@host:port/db``.
        max_size: Connections in the pool at most.
        timeout: Seconds to wait for a connection before `StoreUnavailable`.
    """

    def __init__(self, url: str, *, max_size: int = 10, timeout: float = 10.0) -> None:
        try:
            import psycopg_pool

            del psycopg_pool  # imported here only to say which extra is missing
        except ImportError as exc:
            raise MissingDependencyError(exc.name or "psycopg_pool", "postgres") from exc
        self.url = url
        self.max_size = max_size
        self.timeout = timeout
        self._pool: AsyncConnectionPool[Connection] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return "PostgresDatabase(<url hidden>)"  # the URL may carry a password

    async def pool(self) -> AsyncConnectionPool[Connection]:
        """The pool, opened on first use in the running event loop."""
        loop = asyncio.get_running_loop()
        if self._pool is not None and self._loop is loop:
            return self._pool
        async with self._opening:
            pool = self._pool
            if pool is None or self._loop is not loop:
                from psycopg_pool import AsyncConnectionPool

                pool = cast(
                    "AsyncConnectionPool[Connection]",
                    AsyncConnectionPool(
                        self.url,
                        min_size=1,
                        max_size=self.max_size,
                        timeout=self.timeout,
                        open=False,
                        kwargs={"autocommit": True},
                    ),
                )
                await pool.open(wait=False)
                self._pool, self._loop = pool, loop
        return pool

    async def close(self) -> None:
        """Close the pool (its connections)."""
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @asynccontextmanager
    async def session(self) -> AsyncGenerator[Connection]:
        """A pooled connection for the block (autocommit; open transactions yourself).

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        import psycopg
        import psycopg_pool

        pool = await self.pool()
        try:
            async with pool.connection() as connection:
                yield connection
        except (psycopg.OperationalError, psycopg_pool.PoolTimeout) as exc:
            raise StoreUnavailable(f"the database is unavailable: {type(exc).__name__}") from exc

    @asynccontextmanager
    async def transaction(self) -> AsyncGenerator[Connection]:
        """A connection inside one transaction, committed when the block ends."""
        async with self.session() as connection, connection.transaction():
            yield connection

    async def fetchone(self, sql: Query, args: Args = ()) -> Row | None:
        """The first row of `sql`, or ``None``."""
        async with self.session() as connection:
            cursor = await connection.execute(sql, args)
            return await cursor.fetchone()

    async def fetchall(self, sql: Query, args: Args = ()) -> list[Row]:
        """Every row of `sql`."""
        async with self.session() as connection:
            cursor = await connection.execute(sql, args)
            return await cursor.fetchall()

    async def execute(self, sql: Query, args: Args = ()) -> None:
        """Run one statement (its own transaction)."""
        async with self.session() as connection:
            await connection.execute(sql, args)
