"""The PostgreSQL schema, versioned by alembic migrations in ``pyagent_providers/migrations``.

`upgrade` applies them (``pyagent db upgrade``); `current` says where a database is.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from .errors import MissingDependencyError, StoreUnavailable

__all__ = ["current", "head", "upgrade"]

MIGRATIONS = Path(__file__).with_name("migrations")


def _config(url: str):  # noqa: ANN202 - alembic's Config, imported lazily
    try:
        from alembic.config import Config
    except ImportError as exc:
        raise MissingDependencyError(exc.name or "alembic", "postgres") from exc
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # SQLAlchemy names psycopg 3 "postgresql+psycopg"
    config.set_main_option("sqlalchemy.url", _sqlalchemy_url(url).replace("%", "%%"))
    return config


def _sqlalchemy_url(url: str) -> str:
    scheme, rest = url.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgresql", "postgres") else url


def upgrade_sync(url: str, revision: str = "head") -> None:
    """Apply every migration up to `revision` (concurrent callers wait for one another).

    Raises:
        StoreUnavailable: The database cannot be reached.
    """
    from alembic import command
    from sqlalchemy.exc import OperationalError

    try:
        command.upgrade(_config(url), revision)
    except OperationalError as exc:
        raise StoreUnavailable(f"cannot migrate the database: {type(exc.orig).__name__}") from exc


async def upgrade(url: str, revision: str = "head") -> None:
    """`upgrade_sync` off the event loop."""
    await asyncio.to_thread(upgrade_sync, url, revision)


def head() -> str:
    """The newest migration's revision."""
    from alembic.script import ScriptDirectory

    revision = ScriptDirectory.from_config(_config("postgresql://-")).get_current_head()
    assert revision is not None
    return revision


def current(url: str) -> str | None:
    """The database's revision (``None``: not migrated yet)."""
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine, pool

    engine = create_engine(_sqlalchemy_url(url), poolclass=pool.NullPool)
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
