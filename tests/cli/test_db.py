"""``pyagent db upgrade|current`` on the machine's PostgreSQL."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator

import pytest

from pyagent_cli.db import db_command
from pyagent_cli.main import main
from pyagent_providers import StoreUnavailable, UserError
from pyagent_providers.schema import current, head
from tests.conftest import POSTGRES_ADMIN_URL


@pytest.fixture
def empty_database() -> Iterator[str]:
    """A new PostgreSQL database without any table, dropped afterwards."""
    psycopg = pytest.importorskip("psycopg")
    name = f"pyagent_test_db_{os.getpid()}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def run(action: str) -> str:
    out = io.StringIO()
    assert db_command(action, out=out) == 0
    return out.getvalue()


def test_upgrade_creates_the_schema_and_current_says_where_it_is(
    empty_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYAGENT_DATABASE_URL", empty_database)
    assert run("current") == "no schema yet (pyagent db upgrade creates it)\n"
    assert run("upgrade") == f"{head()} (head)\n"
    assert current(empty_database) == head()
    assert run("upgrade") == f"{head()} (head)\n"  # again: nothing to do
    assert run("current") == f"{head()} (head)\n"


def test_without_a_database_url_it_says_what_to_set(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PYAGENT_DATABASE_URL", raising=False)
    with pytest.raises(UserError, match="PYAGENT_DATABASE_URL is not set"):
        db_command("upgrade")
    assert main(["db", "current"]) == 2
    assert "PYAGENT_DATABASE_URL is not set" in capsys.readouterr().err


def test_an_unreachable_database_is_unavailable_without_its_url(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PYAGENT_DATABASE_URL", "postgresql://secret-user@127.0.0.1:1/none")
    with pytest.raises(StoreUnavailable) as refused:
        db_command("current")
    assert "secret-user" not in str(refused.value)
