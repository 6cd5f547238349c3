"""``pyagent serve`` (the chat handler over HTTP) and ``pyagent token`` (a customer token).

Secrets come from the environment, never from the command line (where ``ps`` shows them):

- ``PYAGENT_CUSTOMER_SECRET``: the key of customer tokens; hex is decoded, any other text
  is used as its UTF-8 bytes. Required: without it the server would accept no customer.
- ``PYAGENT_AGENT_TOKENS``: ``name=token,name2=token2``, the people who work the queue;
  empty or unset means nobody can use the queue endpoints.
- ``PYAGENT_WEBHOOK_SECRET``: the key of the helpdesk webhook's signatures (hex or text,
  at least 16 bytes); unset, ``POST /v1/webhooks/tickets`` answers 404.

``pyagent serve --workers N`` runs N uvicorn worker processes on one port; each builds its
handler with `app_from_environment` (an app factory: uvicorn imports it by name in each
process) from the recipe, classification and store this command passes in
``PYAGENT_SERVE_*`` variables, and warms up before it accepts requests. SQLite is safe for
several workers on one machine; ``PYAGENT_DATABASE_URL`` is the way to scale.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pyagent_server import create_app, issue_customer_token

from pyagent_providers import MissingDependencyError, UserError
from pyagent_providers.postgres import database_url
from pyagent_providers.telemetry import configure_tracing

from .recipes import DEFAULT_RECIPE, load_recipe

if TYPE_CHECKING:
    from fastapi import FastAPI
    from pyagent_server.tickets import TicketQueue

__all__ = [
    "SERVE_CLASSIFICATION_ENV",
    "SERVE_RECIPE_ENV",
    "SERVE_STORE_ENV",
    "agent_tokens",
    "app_from_environment",
    "customer_secret",
    "serve_command",
    "token_command",
    "webhook_secret",
]

logger = logging.getLogger("pyagent.server")

# What `pyagent serve` hands its worker processes (`app_from_environment`)
SERVE_RECIPE_ENV = "PYAGENT_SERVE_RECIPE"
SERVE_CLASSIFICATION_ENV = "PYAGENT_SERVE_CLASSIFICATION"
SERVE_STORE_ENV = "PYAGENT_SERVE_STORE"
KEEP_ALIVE_SECONDS = 5
MAX_HEADER_BYTES = 16 * 1024


MIN_SECRET_BYTES = 16  # 128 bits: a guessable key would let anyone forge customer tokens


def customer_secret() -> bytes:
    """``PYAGENT_CUSTOMER_SECRET`` as bytes (hex is decoded).

    Raises:
        UserError: It is not set, or shorter than 16 bytes (e.g. ``short``).
    """
    secret = _secret("PYAGENT_CUSTOMER_SECRET")
    if secret is None:
        raise UserError("set PYAGENT_CUSTOMER_SECRET (the key of customer tokens) first")
    return secret


def webhook_secret() -> bytes | None:
    """``PYAGENT_WEBHOOK_SECRET`` as bytes (hex is decoded); ``None`` when it is not set.

    Raises:
        UserError: It is shorter than 16 bytes.
    """
    return _secret("PYAGENT_WEBHOOK_SECRET")


def _secret(variable: str) -> bytes | None:
    value = os.environ.get(variable, "").strip()
    if not value:
        return None
    try:
        secret = bytes.fromhex(value)
    except ValueError:
        secret = value.encode()
    if len(secret) < MIN_SECRET_BYTES:
        raise UserError(
            f"{variable} is {len(secret)} bytes; use at least {MIN_SECRET_BYTES} "
            'random bytes, e.g. python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return secret


def agent_tokens() -> dict[str, str]:
    """``PYAGENT_AGENT_TOKENS`` as token → the person's name.

    Raises:
        UserError: An entry is not ``name=token``.
    """
    tokens: dict[str, str] = {}
    for entry in os.environ.get("PYAGENT_AGENT_TOKENS", "").split(","):
        if not entry.strip():
            continue
        name, _, token = (part.strip() for part in entry.partition("="))
        if not name or not token:
            raise UserError("PYAGENT_AGENT_TOKENS must be name=token pairs separated by commas")
        tokens[token] = name
    return tokens


def serve_command(
    *,
    host: str,
    port: int,
    store: str | None,
    classification: str,
    recipe: str = DEFAULT_RECIPE,
    workers: int = 1,
) -> int:
    """Serve `recipe`'s chat handler (the cookbook support system's) until interrupted.

    With `workers` above 1, uvicorn runs that many processes on the one port, each
    building its own handler with `app_from_environment` (from the variables set here)
    and warming it up before it accepts requests. The SQLite store is safe for several
    processes on one machine; ``PYAGENT_DATABASE_URL`` (PostgreSQL) is the way to scale
    (with ``PYAGENT_REDIS_URL``, the rate limits are shared too).

    Raises:
        UserError: A missing or weak secret, bad agent tokens, an unknown recipe or
            classification, or fewer than 1 worker.
    """
    if workers < 1:
        raise UserError("--workers must be at least 1")
    # the secrets first: a misconfigured server fails at once, not after loading models
    customer_secret()
    agent_tokens()
    webhook_secret()
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", "server") from exc
    loaded = load_recipe(recipe, "serve")
    loaded.classification(classification)  # checked here, once, before any process starts
    os.environ[SERVE_RECIPE_ENV] = recipe
    os.environ[SERVE_CLASSIFICATION_ENV] = classification
    if store is None:
        os.environ.pop(SERVE_STORE_ENV, None)
    else:
        # a PostgreSQL URL as given; a SQLite path made absolute for the worker processes
        os.environ[SERVE_STORE_ENV] = store if "://" in store else str(Path(store).resolve())
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        # uvicorn's records go through pyagent's format (time, level, conversation)
        "log_config": None,
        # an idle keep-alive connection is closed after 5 s; request bodies have their
        # own deadline (create_app's body_timeout, 408)
        "timeout_keep_alive": KEEP_ALIVE_SECONDS,
        # request line and headers: at most 16 KiB (h11), else 400
        "h11_max_incomplete_event_size": MAX_HEADER_BYTES,
    }
    if workers == 1:
        uvicorn.run(app_from_environment(), **options)
        return 0
    if database_url() is None:
        logger.info(
            "%d workers on one SQLite file; set PYAGENT_DATABASE_URL to scale further", workers
        )
    uvicorn.run(f"{__name__}:app_from_environment", factory=True, workers=workers, **options)
    return 0


def app_from_environment() -> FastAPI:
    """The server's application, built from the environment (each worker's factory).

    ``pyagent serve`` sets ``PYAGENT_SERVE_RECIPE``, ``PYAGENT_SERVE_CLASSIFICATION`` and
    ``PYAGENT_SERVE_STORE`` (unset: the default store) for its worker processes; the
    secrets come from their usual variables. Also usable on its own:
    ``uvicorn --factory pyagent_cli.serve:app_from_environment``.

    Raises:
        UserError: A missing or weak secret, bad agent tokens, or an unknown recipe or
            classification.
    """
    secret, tokens, hook_secret = customer_secret(), agent_tokens(), webhook_secret()
    configure_tracing()  # OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_TRACES_EXPORTER turn traces on
    loaded = load_recipe(os.environ.get(SERVE_RECIPE_ENV) or DEFAULT_RECIPE, "serve")
    classification = loaded.classification(os.environ.get(SERVE_CLASSIFICATION_ENV) or "auto")
    handler = loaded.chat_handler(
        os.environ.get(SERVE_STORE_ENV) or None, classification=classification
    )
    # PostgreSQL: tickets go to the task queue (`pyagent worker`); SQLite: answered inline
    url = database_url()
    tickets = None if url is None else _ticket_queue(url)
    return create_app(
        handler,
        customer_secret=secret,
        agent_tokens=tokens,
        webhook_secret=hook_secret,
        tickets=tickets,
    )


def _ticket_queue(url: str) -> TicketQueue:
    from pyagent_server.tickets import TicketQueue  # the postgres extra

    return TicketQueue(url)


def token_command(user_id: str) -> int:
    """Print the bearer token of customer `user_id`."""
    print(issue_customer_token(customer_secret(), user_id))
    return 0
