"""Test-wide safety: no test reaches the network or uses a real API key."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pytest

from tests.fakeapi import FakeAPI

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# An empty tiktoken cache, as on a fresh machine: token counts must seed it offline.
os.environ["TIKTOKEN_CACHE_DIR"] = tempfile.mkdtemp(prefix="pyagent-tiktoken-")

_KEY_VARIABLES = (
    "OPENAI_API_KEY",
    "ANTHROPIC_API_KEY",
    "GROQ_API_KEY",
    "OPENROUTER_API_KEY",
    "SAMBANOVA_API_KEY",
)


@pytest.fixture(autouse=True)
def _no_real_provider(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Hide real API keys, so a real provider call fails with ConfigurationError.

    pytest-socket (``--allow-hosts=127.0.0.1,::1`` in pyproject.toml) refuses every
    connection that is not to loopback, before each test. Tests that need a provider opt
    in to the local fake server (`tests/fakeapi`) and pass an explicit key.
    """
    for variable in _KEY_VARIABLES:
        monkeypatch.delenv(variable, raising=False)
    # files pyagent keeps by default (the escalation queue) go to a temporary folder
    monkeypatch.setenv("PYAGENT_DATA_DIR", str(tmp_path_factory.mktemp("pyagent-data")))
    # fitted triage models are shared by every test and subprocess of the session
    # (`make test` points this at .cache/ and trains once before pytest starts)
    if not os.environ.get("PYAGENT_CACHE_DIR"):
        monkeypatch.setenv("PYAGENT_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "cache"))


@pytest.fixture(scope="session")
def _fakeapi_server() -> Iterator[FakeAPI]:
    with FakeAPI() as api:
        yield api


@pytest.fixture
def fakeapi(_fakeapi_server: FakeAPI) -> FakeAPI:
    """The local wire-format server (tests/fakeapi), with an empty script and log."""
    _fakeapi_server.reset()
    return _fakeapi_server


# -- PostgreSQL and Redis, the machine's real services ------------------------------------

POSTGRES_ADMIN_URL = os.environ.get(
    "PYAGENT_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("PYAGENT_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, migrated PostgreSQL database for one test, dropped afterwards.

    A database per test keeps tests (and CI runs sharing the machine) apart.
    """
    psycopg = pytest.importorskip("psycopg")
    from pyagent_providers.schema import upgrade_sync

    name = f"pyagent_test_{os.getpid()}_{next(_DATABASES)}"
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name}")
        admin.execute(f"CREATE DATABASE {name}")
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    upgrade_sync(url)
    try:
        yield url
    finally:
        with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


_DATABASES = iter(range(1_000_000))
