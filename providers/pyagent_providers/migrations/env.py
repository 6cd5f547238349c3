"""Alembic's environment: runs the migrations on one connection, under an advisory lock.

Several processes may start at once (``serve --workers N``, workers): the lock makes the
first one migrate and the others wait, then find nothing to do.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool, text

MIGRATION_LOCK = 7_202_611  # pg_advisory_lock key of schema migrations

url = context.config.get_main_option("sqlalchemy.url")
assert url, "the database URL is set by pyagent_providers.schema"
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    connection.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
    connection.commit()
    try:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()
    finally:
        connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
        connection.commit()
