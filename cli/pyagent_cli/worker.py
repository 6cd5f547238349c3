"""``pyagent worker``: answer the webhook tickets queued in PostgreSQL.

With ``PYAGENT_DATABASE_URL`` set, ``pyagent serve`` acknowledges each ticket event with
202 and enqueues it (`pyagent_server.tickets`); workers, as many processes as needed,
each answer ``--concurrency`` tickets at a time with the recipe's chat handler, built once
per process. A failed attempt is retried with backoff when a retry can help (the
database or a model provider was unavailable); a ticket that fails for good stays as a
dead letter (``GET /v1/webhooks/failed``, ``POST /v1/webhooks/failed/{job_id}/retry``).

SIGTERM or Ctrl-C stops the worker gracefully: it takes no new job and finishes the ones
in progress; a second Ctrl-C interrupts at once. A job left unfinished by a worker that
died (killed, or its machine lost) is queued again by the other workers once its heartbeat
is 20 s old. A database outage does not stop a worker: it starts taking jobs again when
the database is back. The log names jobs, tickets and events by id, never their text; it
is at INFO unless ``PYAGENT_LOG_LEVEL`` says otherwise.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from pyagent_patterns import ChatHandler
from pyagent_providers import UserError
from pyagent_providers.postgres import DATABASE_URL_ENV, database_url
from pyagent_providers.telemetry import configure_tracing

from .recipes import DEFAULT_RECIPE, load_recipe

if TYPE_CHECKING:
    from pyagent_server.tickets import TicketQueue

__all__ = ["worker_command"]

logger = logging.getLogger("pyagent.worker")


def worker_command(*, concurrency: int, classification: str, recipe: str = DEFAULT_RECIPE) -> int:
    """Process queued tickets with `recipe`'s chat handler until SIGTERM or Ctrl-C.

    Raises:
        UserError: ``PYAGENT_DATABASE_URL`` is not set (there is no queue), or
            `concurrency` is below 1.
    """
    url = database_url()
    if url is None:
        raise UserError(
            f"pyagent worker needs {DATABASE_URL_ENV} (postgresql://...): the task queue "
            "lives in PostgreSQL; without it, pyagent serve answers tickets in the request"
        )
    if concurrency < 1:
        raise UserError("--concurrency must be at least 1")
    from pyagent_server.tickets import TicketQueue  # the postgres extra, checked here

    queue = TicketQueue(url)
    if not os.environ.get("PYAGENT_LOG_LEVEL"):  # a daemon says what it does by default
        for name in ("pyagent.worker", "pyagent.tickets"):
            logging.getLogger(name).setLevel(logging.INFO)
    configure_tracing()  # OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_TRACES_EXPORTER turn traces on
    loaded = load_recipe(recipe, "serve")
    handler = loaded.chat_handler(None, classification=loaded.classification(classification))
    asyncio.run(_work(queue, handler, concurrency))
    return 0


async def _work(queue: TicketQueue, handler: ChatHandler, concurrency: int) -> None:
    await queue.app()  # the schema, if missing, and the pool: fail before loading models
    await handler.warm_up()
    logger.info("worker started: %d ticket(s) at a time (recipe ready)", concurrency)
    try:
        await queue.run_worker(handler, concurrency=concurrency)
    finally:
        await queue.close()
    logger.info("worker stopped")
