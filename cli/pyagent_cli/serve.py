"""``pyagent serve`` (the chat handler over HTTP) and ``pyagent token`` (a customer token).

Secrets come from the environment, never from the command line (where ``ps`` shows them):

- ``PYAGENT_CUSTOMER_SECRET``: the key of customer tokens; hex is decoded, any other text
  is used as its UTF-8 bytes. Required: without it the server would accept no customer.
- ``PYAGENT_AGENT_TOKENS``: ``name=token,name2=token2``, the people who work the queue;
  empty or unset means nobody can use the queue endpoints.
- ``PYAGENT_WEBHOOK_SECRET``: the key of the helpdesk webhook's signatures (hex or text,
  at least 16 bytes); unset, ``POST /v1/webhooks/tickets`` answers 404.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pyagent_server import create_app, issue_customer_token

from pyagent_providers import MissingDependencyError, UserError
from pyagent_providers.postgres import database_url
from pyagent_providers.telemetry import configure_tracing

from .recipes import DEFAULT_RECIPE, load_recipe

if TYPE_CHECKING:
    from pyagent_server.tickets import TicketQueue

__all__ = ["agent_tokens", "customer_secret", "serve_command", "token_command", "webhook_secret"]


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
) -> int:
    """Serve `recipe`'s chat handler (the cookbook support system's) until interrupted."""
    # the secrets first: a misconfigured server fails at once, not after loading models
    secret, tokens, hook_secret = customer_secret(), agent_tokens(), webhook_secret()
    try:
        import uvicorn
    except ImportError as exc:
        raise MissingDependencyError("uvicorn", "server") from exc
    configure_tracing()  # OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_TRACES_EXPORTER turn traces on
    loaded = load_recipe(recipe, "serve")
    handler = loaded.chat_handler(store, classification=loaded.classification(classification))
    # PostgreSQL: tickets go to the task queue (`pyagent worker`); SQLite: answered inline
    url = database_url()
    tickets = None if url is None else _ticket_queue(url)
    app = create_app(
        handler,
        customer_secret=secret,
        agent_tokens=tokens,
        webhook_secret=hook_secret,
        tickets=tickets,
    )
    # log_config=None: uvicorn's records go through pyagent's format (time, level, conversation)
    uvicorn.run(app, host=host, port=port, log_config=None)
    return 0


def _ticket_queue(url: str) -> TicketQueue:
    from pyagent_server.tickets import TicketQueue  # the postgres extra

    return TicketQueue(url)


def token_command(user_id: str) -> int:
    """Print the bearer token of customer `user_id`."""
    print(issue_customer_token(customer_secret(), user_id))
    return 0
