"""What the PostgreSQL stores share: opening the database, JSON and timestamps."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pyagent_providers.postgres import PostgresDatabase

__all__ = ["as_database", "dumps", "utc"]


def as_database(url_or_db: str | PostgresDatabase) -> PostgresDatabase:
    """`url_or_db` itself, or a new `PostgresDatabase` on the URL."""
    return url_or_db if isinstance(url_or_db, PostgresDatabase) else PostgresDatabase(url_or_db)


def dumps(value: Any) -> str:
    """JSON text for a ``%s::jsonb`` parameter (what JSON cannot hold, as its text)."""
    return json.dumps(value, default=str)


def utc(moment: datetime) -> datetime:
    """A ``TIMESTAMPTZ`` read back (in the session's time zone) in UTC."""
    return moment.astimezone(UTC)
