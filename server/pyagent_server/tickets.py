"""`TicketQueue`: webhook tickets handed to workers through a task queue on PostgreSQL.

With ``PYAGENT_DATABASE_URL`` set, ``POST /v1/webhooks/tickets`` does not answer the
ticket in the request: it checks the signature and the event, enqueues one job and
answers 202 ``{"event_id", "ticket_id", "status": "queued"}`` at once; ``pyagent worker``
processes the jobs (`process_ticket_event`, the same code the embedded default runs
inline).

Why procrastinate:

- **No new infrastructure.** Its jobs are rows in the PostgreSQL the stores already
  share; enqueueing is one ``INSERT`` and workers are woken by ``LISTEN``/``NOTIFY``. A
  broker (RabbitMQ, Redis) would be one more service to run, secure and back up, and a
  job would live in a different system than the conversation it answers.
- **Retries are declared per task.** `process_ticket` retries what a later attempt can
  fix (`StoreUnavailable`, `ProviderError`: an outage, a rate limit) with exponential
  backoff, `ATTEMPTS` attempts in all; anything else (a `UserError`: a ticket the guards
  refuse) fails at once, since running it again would fail alike.
- **Dead letters are just failed jobs.** A job that exhausts its attempts stays in
  procrastinate's table with status ``failed``: queryable (`TicketQueue.failed`,
  ``GET /v1/webhooks/failed``) and retryable (`TicketQueue.retry`,
  ``POST /v1/webhooks/failed/{job_id}/retry``). Nothing is dropped silently.
- **One job per event.** Each job's ``queueing_lock`` is its event id: a delivery the
  helpdesk retries (to this server or another) while the job is still queued enqueues
  nothing. Once the job ran, the chat handler's message-id dedupe answers the redelivery
  (``event-<event_id>``) without running the turn again. Each job's ``lock`` is its
  ticket's conversation, so the events of one ticket are processed in order, one at a
  time, whatever the number of workers.

Workers: ``pyagent worker`` (`TicketQueue.run_worker`). Each says it is alive every
`HEARTBEAT_SECONDS`; a job left ``doing`` by a worker silent for `STALLED_SECONDS`
(killed, its machine lost) is queued again by the others (`TicketQueue.recover_stalled`),
and a job that keeps killing its workers becomes a dead letter like any other. A database
outage does not end a worker: it starts taking jobs again once the database is back.

Schema: procrastinate's own (`ensure_queue_schema`), applied by the worker and the
server when they first need it, if it is missing, under an advisory lock; plus one small
table, ``pyagent_ticket_failures``, the error class of each job's last failed attempt
(procrastinate keeps none). Upgrading procrastinate to a version with a new schema means
applying its migrations (``procrastinate schema``, see its docs) before restarting.

Privacy: a job's arguments hold the ticket's raw text until it is processed, so workers
delete succeeded jobs (``delete_jobs="successful"``); dead letters keep theirs, to be
retried. procrastinate's log records describe a job by the event's ids only
(`TicketArgs`, `JobLogScrubber`), and this module logs ids only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import signal
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from pydantic import ValidationError

from pyagent_patterns.chat import ChatHandler
from pyagent_providers import (
    ConflictError,
    MissingDependencyError,
    NotFoundError,
    ProviderError,
    StoreUnavailable,
    UserError,
)

from .models import TicketEventBody
from .webhooks import process_ticket_event

try:
    import psycopg
    from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
    from procrastinate import exceptions as procrastinate_errors
    from procrastinate.jobs import Status
    from procrastinate.schema import SchemaManager
    from procrastinate.utils import utcnow
except ImportError as exc:  # the postgres extra is optional; say which one to install
    raise MissingDependencyError(exc.name or "procrastinate", "postgres") from exc

__all__ = [
    "ATTEMPTS",
    "BACKOFF_SECONDS",
    "QUEUE",
    "TASK_NAME",
    "FailedTicket",
    "JobLogScrubber",
    "TicketArgs",
    "TicketQueue",
    "ensure_queue_schema",
    "process_ticket",
]

logger = logging.getLogger("pyagent.tickets")

TASK_NAME = "pyagent.process_ticket"
QUEUE = "tickets"
WORKER_NAME = "pyagent-tickets"
ATTEMPTS = 5  # in all: the first run and 4 retries
BACKOFF_SECONDS = 2  # retries wait 2, 4, 8, 16 s
RETRIED: tuple[type[Exception], ...] = (StoreUnavailable, ProviderError)
HANDLER_KEY = "pyagent.chat_handler"  # the worker's JobContext.additional_context key
HEARTBEAT_SECONDS = 5.0  # each worker says it is alive this often
STALLED_SECONDS = 20.0  # a worker silent this long is dead: its jobs run again

FAILURES_TABLE = """
CREATE TABLE IF NOT EXISTS pyagent_ticket_failures (
    job_id bigint PRIMARY KEY REFERENCES procrastinate_jobs (id) ON DELETE CASCADE,
    error text NOT NULL,
    failed_at timestamp with time zone NOT NULL DEFAULT now()
)
"""
_SCHEMA_LOCK = int.from_bytes(hashlib.sha256(b"pyagent.queue_schema").digest()[:8], "big") >> 1


async def ensure_queue_schema(url: str) -> bool:
    """Apply procrastinate's schema to the database at `url` if it is missing.

    Idempotent and safe to call from several processes at once: an advisory lock makes
    the others wait, then find the schema there. The ``pyagent_ticket_failures`` table is
    created if missing, either way.

    Returns:
        Whether procrastinate's schema was applied now.

    Raises:
        StoreUnavailable: The database cannot be reached.
    """
    try:
        async with await psycopg.AsyncConnection.connect(url) as connection:
            async with connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                cursor = await connection.execute(
                    "SELECT to_regclass('procrastinate_jobs') IS NOT NULL"
                )
                present = await cursor.fetchone()
                applied = not (present and present[0])
                if applied:
                    await connection.execute(SchemaManager.get_schema())
                await connection.execute(FAILURES_TABLE)
    except psycopg.OperationalError as error:
        raise StoreUnavailable(f"the task queue is unavailable: {type(error).__name__}") from error
    if applied:
        logger.info("applied procrastinate's schema (the ticket queue)")
    return applied


@dataclass(frozen=True, slots=True)
class FailedTicket:
    """A dead letter: a ticket job that failed for good (ids only, never the text)."""

    job_id: int
    event_id: str | None
    ticket_id: str | None
    attempts: int
    error: str | None  # the class of the last attempt's error, e.g. "UserError"
    failed_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """The fields as a JSON-ready dict (``failed_at`` in ISO 8601)."""
        return {
            "job_id": self.job_id,
            "event_id": self.event_id,
            "ticket_id": self.ticket_id,
            "attempts": self.attempts,
            "error": self.error,
            "failed_at": self.failed_at.isoformat() if self.failed_at else None,
        }


_FAILED = """
SELECT j.id, j.args #>> '{event,event_id}' AS event_id,
       j.args #>> '{event,ticket_id}' AS ticket_id, j.attempts, f.error,
       COALESCE(f.failed_at, (SELECT max(e.at) FROM procrastinate_events e
                              WHERE e.job_id = j.id AND e.type = 'failed')) AS failed_at
  FROM procrastinate_jobs j
  LEFT JOIN pyagent_ticket_failures f ON f.job_id = j.id
 WHERE j.task_name = %(task_name)s AND j.status = 'failed'
 ORDER BY j.id DESC
 LIMIT %(limit)s
"""
_RECORD_FAILURE = """
INSERT INTO pyagent_ticket_failures (job_id, error) VALUES (%(job_id)s, %(error)s)
ON CONFLICT (job_id) DO UPDATE SET error = EXCLUDED.error, failed_at = now()
"""


class TicketQueue:
    """The ticket jobs of one PostgreSQL database: enqueue, work, list and retry dead letters.

    The procrastinate `App` (and its connection pool) opens on first use in the running
    event loop, after `ensure_queue_schema`.

    Args:
        url: ``postgresql://user@host:port/db``, the database the stores share.
        attempts: Attempts of a job in all, for errors a retry can fix (`RETRIED`).
        backoff_seconds: Exponential backoff base: retry n waits ``backoff ** n`` seconds.
        max_connections: Connections in this process's pool at most.
        timeout: Seconds to wait for a pooled connection before `StoreUnavailable`.
    """

    def __init__(
        self,
        url: str,
        *,
        attempts: int = ATTEMPTS,
        backoff_seconds: int = BACKOFF_SECONDS,
        max_connections: int = 5,
        timeout: float = 10.0,
    ) -> None:
        if attempts < 1:
            raise UserError("a ticket job needs at least 1 attempt")
        self.url = url
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_connections = max_connections
        self.timeout = timeout
        self._app: App | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()
        self._schema_ready = False
        JobLogScrubber.install()

    def __repr__(self) -> str:
        return "TicketQueue(<url hidden>)"  # the URL may carry a password

    async def app(self) -> App:
        """The procrastinate app, open in the running event loop (schema ensured).

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        loop = asyncio.get_running_loop()
        if self._app is not None and self._loop is loop:
            return self._app
        async with self._opening:
            if self._app is None or self._loop is not loop:
                if not self._schema_ready:
                    await ensure_queue_schema(self.url)
                    self._schema_ready = True
                app = self._build_app()
                try:
                    await app.open_async()
                except (procrastinate_errors.ConnectorException, psycopg.OperationalError) as error:
                    raise _unavailable(error) from error
                self._app, self._loop = app, loop
        return self._app

    def _build_app(self) -> App:
        connector = PsycopgConnector(
            conninfo=self.url,
            min_size=1,
            max_size=self.max_connections,
            timeout=self.timeout,
            json_loads=_json_loads,  # a job's event reads back as TicketArgs (its repr: ids)
        )
        app = App(connector=connector)
        retry = RetryStrategy(
            max_attempts=self.attempts - 1,  # procrastinate counts the retries
            exponential_wait=self.backoff_seconds,
            retry_exceptions=RETRIED,
        )
        app.task(name=TASK_NAME, queue=QUEUE, retry=retry, pass_context=True)(process_ticket)
        return app

    async def close(self) -> None:
        """Close the pool (when it was opened in the running loop)."""
        if self._app is not None and self._loop is asyncio.get_running_loop():
            await self._app.close_async()
        self._app = self._loop = None

    async def enqueue(self, event: TicketEventBody) -> int | None:
        """Queue `event` for a worker; its job id, or ``None`` when it is queued already.

        Raises:
            StoreUnavailable: The database cannot be reached (the helpdesk retries).
        """
        app = await self.app()
        deferrer = app.configure_task(
            TASK_NAME,
            allow_unknown=False,
            queueing_lock=f"event-{event.event_id}",
            lock=f"ticket-{event.ticket_id}",
        )
        try:
            job_id = await deferrer.defer_async(event=TicketArgs(event.model_dump(mode="json")))
        except procrastinate_errors.AlreadyEnqueued:
            logger.info("ticket %s event %s: already queued", event.ticket_id, event.event_id)
            return None
        except procrastinate_errors.ConnectorException as error:
            raise _unavailable(error) from error
        logger.info("ticket %s event %s: queued as job %d", event.ticket_id, event.event_id, job_id)
        return job_id

    async def failed(self, *, limit: int = 100) -> list[FailedTicket]:
        """The dead letters, newest first: ticket jobs that failed for good.

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        app = await self.app()
        try:
            rows = await app.connector.execute_query_all_async(
                _FAILED, task_name=TASK_NAME, limit=limit
            )
        except procrastinate_errors.ConnectorException as error:
            raise _unavailable(error) from error
        return [
            FailedTicket(
                job_id=row["id"],
                event_id=row["event_id"],
                ticket_id=row["ticket_id"],
                attempts=row["attempts"],
                error=row["error"],
                failed_at=row["failed_at"],
            )
            for row in rows
        ]

    async def retry(self, job_id: int) -> FailedTicket:
        """Queue dead letter `job_id` again (now); what it was.

        Raises:
            NotFoundError: No failed ticket job has that id.
            ConflictError: A job for the same event is queued already.
            StoreUnavailable: The database cannot be reached.
        """
        app = await self.app()
        try:
            jobs = await app.job_manager.list_jobs_async(id=job_id, task=TASK_NAME, status="failed")
            dead = next(iter(jobs), None)
            if dead is None:
                raise NotFoundError(f"no failed ticket job {job_id}")
            await app.job_manager.retry_job_by_id_async(job_id=job_id, retry_at=utcnow())
        except procrastinate_errors.UniqueViolation:
            raise ConflictError(f"job {job_id}'s event is queued already") from None
        except procrastinate_errors.ConnectorException as error:
            raise _unavailable(error) from error
        event = cast("Mapping[str, Any]", dead.task_kwargs.get("event") or {})
        logger.info("job %d (event %s) queued again", job_id, event.get("event_id"))
        return FailedTicket(
            job_id=job_id,
            event_id=_text(event.get("event_id")),
            ticket_id=_text(event.get("ticket_id")),
            attempts=dead.attempts,
            error=None,
            failed_at=None,
        )

    async def run_worker(
        self,
        handler: ChatHandler,
        *,
        concurrency: int = 1,
        wait: bool = True,
        install_signal_handlers: bool = True,
        stop: asyncio.Event | None = None,
    ) -> None:
        """Process ticket jobs with `handler` until SIGTERM or Ctrl-C (or `stop` is set).

        The first signal stops taking jobs and lets the ones in progress finish (no
        timeout); a second one interrupts at once. While it runs, jobs left ``doing`` by
        a worker that died (no heartbeat for `STALLED_SECONDS`) are queued again
        (`recover_stalled`). A database outage does not end it: procrastinate's worker
        is started again after a backoff (1 s doubling to 30 s). ``wait=False`` returns
        once no job is ready (tests, one-off runs).
        """
        stop = stop or asyncio.Event()
        backoff = 1.0
        with _stop_on_signals(stop) if install_signal_handlers else contextlib.nullcontext():
            while not stop.is_set():
                try:
                    await self.recover_stalled()
                    if await self._work(handler, stop, concurrency=concurrency, wait=wait):
                        return
                    backoff = 1.0  # it ran, then stopped by itself: its connection failed
                except _OUTAGES as error:
                    if not wait:
                        raise
                    logger.warning(
                        "the task queue is unavailable (%s); the worker starts again in %.0f s",
                        type(error).__name__,
                        backoff,
                    )
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), backoff)
                backoff = min(backoff * 2, 30.0)

    async def _work(
        self, handler: ChatHandler, stop: asyncio.Event, *, concurrency: int, wait: bool
    ) -> bool:
        """Run procrastinate's worker until `stop` (or, with ``wait=False``, no job).

        Returns:
            Whether it ended as asked; ``False``: it stopped by itself (a side task of
            procrastinate's, such as the heartbeat, lost the database).
        """
        app = await self.app()
        worker = asyncio.create_task(
            app.run_worker_async(
                queues=[QUEUE],
                name=WORKER_NAME,
                concurrency=concurrency,
                wait=wait,
                delete_jobs="successful",
                additional_context={HANDLER_KEY: handler},
                install_signal_handlers=False,  # _stop_on_signals: a stop is told apart
                update_heartbeat_interval=HEARTBEAT_SECONDS,
                stalled_worker_timeout=STALLED_SECONDS,
            )
        )
        stopping = asyncio.create_task(stop.wait())
        watchdog = asyncio.create_task(self._watch_stalled()) if wait else None
        try:
            await asyncio.wait({worker, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not worker.done():  # asked to stop: procrastinate finishes the jobs in progress
                worker.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
                return True
            worker.result()  # its error, if any
            return stop.is_set() or not wait
        finally:
            for side in (stopping, watchdog):
                if side is not None:
                    side.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await side

    async def _watch_stalled(self) -> None:
        while True:
            await asyncio.sleep(STALLED_SECONDS / 2)
            try:
                await self.recover_stalled()
            except _OUTAGES as error:
                logger.warning("could not look for stalled jobs: %s", type(error).__name__)

    async def recover_stalled(self) -> int:
        """Queue again the ticket jobs of workers that died mid-job; how many were found.

        A worker is dead when its heartbeat is older than `STALLED_SECONDS` (or gone). Its
        job runs again (the chat handler answers the stored message once); a job that has
        used its attempts this way is a dead letter (``WorkerLost``); a job whose event
        was delivered again meanwhile is dropped: the new job answers it.

        Raises:
            StoreUnavailable: The database cannot be reached.
        """
        app = await self.app()
        try:
            stalled = list(
                await app.job_manager.get_stalled_jobs(
                    queue=QUEUE, task_name=TASK_NAME, seconds_since_heartbeat=STALLED_SECONDS
                )
            )
        except procrastinate_errors.ConnectorException as error:
            raise _unavailable(error) from error
        for job in stalled:
            try:
                if job.attempts + 1 >= self.attempts:
                    await app.job_manager.finish_job(job, status=Status.FAILED, delete_job=False)
                    await _record_error(app, job.id, "WorkerLost")
                    outcome = "failed for good (WorkerLost)"
                else:
                    await app.job_manager.retry_job(job)
                    outcome = "queued again"
            except procrastinate_errors.UniqueViolation:
                await app.job_manager.finish_job(job, status=Status.ABORTED, delete_job=True)
                outcome = "dropped: its event is queued again"
            except procrastinate_errors.ConnectorException:
                continue  # another worker recovered it first (or the database went away)
            logger.warning("job %s's worker died mid-job; the job is %s", job.id, outcome)
        return len(stalled)


@contextlib.contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Generator[None]:
    """SIGINT and SIGTERM set `stop` once; then their default handlers are back."""
    loop = asyncio.get_running_loop()
    signals = (signal.SIGINT, signal.SIGTERM)

    def first(signum: int) -> None:
        logger.info(
            "%s: stopping once the tickets in progress are answered (again to interrupt)",
            signal.Signals(signum).name,
        )
        stop.set()
        for number in signals:
            loop.remove_signal_handler(number)

    for number in signals:
        loop.add_signal_handler(number, first, number)
    try:
        yield
    finally:
        for number in signals:
            loop.remove_signal_handler(number)


async def process_ticket(context: JobContext, event: dict[str, Any]) -> str:
    """The task: answer one queued ticket event with the worker's chat handler.

    Returns:
        ``"processed"``, or ``"duplicate"`` when the event was answered before.

    Raises:
        UserError: The event is malformed or refused (not retried: a dead letter).
        StoreUnavailable, ProviderError: Retried with backoff.
    """
    extras = cast("dict[str, Any]", context.additional_context)  # pyright: ignore[reportUnknownMemberType]
    handler: object = extras.get(HANDLER_KEY)
    job_id = context.job.id
    try:
        if not isinstance(handler, ChatHandler):
            raise UserError("the worker was started without a chat handler")
        try:
            ticket = TicketEventBody.model_validate(event)
        except ValidationError:
            raise UserError(f"job {job_id} does not hold a ticket event") from None
        result = await process_ticket_event(handler, ticket)
    except Exception as error:
        await _record_error(context.app, context.job.id, type(error).__name__)
        logger.warning(
            "job %s (ticket %s event %s) attempt %d failed: %s",
            job_id,
            _text(event.get("ticket_id")),
            _text(event.get("event_id")),
            context.job.attempts + 1,
            type(error).__name__,
        )
        raise
    status = str(result["status"])
    logger.info(
        "job %s (ticket %s event %s): %s", job_id, ticket.ticket_id, ticket.event_id, status
    )
    return status


async def _record_error(app: App, job_id: int | None, error: str) -> None:
    """Keep an error's class for the dead-letter view; best effort (the database may be down)."""
    if job_id is None:
        return
    try:
        await app.connector.execute_query_async(_RECORD_FAILURE, job_id=job_id, error=error)
    except Exception as failure:  # noqa: BLE001 - the job's own error matters, not this one
        logger.debug("could not record job %s's error: %s", job_id, type(failure).__name__)


_OUTAGES = (StoreUnavailable, procrastinate_errors.ConnectorException, psycopg.OperationalError)


def _unavailable(error: BaseException) -> StoreUnavailable:
    cause = error.__cause__ or error
    return StoreUnavailable(f"the task queue is unavailable: {type(cause).__name__}")


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


class TicketArgs(dict[str, Any]):
    """A queued event as a job argument: a dict whose ``repr`` names its ids only.

    procrastinate describes each job in its log messages with the ``repr`` of its
    arguments (``pyagent.process_ticket[7](event=...)``); the event holds the customer's
    text. Events are enqueued and read back (`_json_loads`) as this class, so the
    description is ``event=<ticket T-1 event ev-1>``.
    """

    def __repr__(self) -> str:
        return f"<ticket {self.get('ticket_id')} event {self.get('event_id')}>"

    __str__ = __repr__


def _json_loads(text: str | bytes) -> object:
    """JSON as procrastinate reads it from the database, a job's event as `TicketArgs`."""
    value: object = json.loads(text)
    if not isinstance(value, dict):
        return value
    fields = cast("dict[str, Any]", value)
    event: object = fields.get("event")
    if isinstance(event, dict):
        fields["event"] = TicketArgs(cast("dict[str, Any]", event))
    return fields


class JobLogScrubber(logging.Filter):
    """Cuts the arguments out of the job descriptions procrastinate adds to log records.

    Besides the message (see `TicketArgs`), procrastinate's records carry each job as
    ``extra`` (``record.job``, ``record.jobs``: every field, the arguments included) for
    structured log handlers. This filter, on the loggers that add them, leaves only the
    event's ids in those arguments.
    """

    LOGGERS = ("procrastinate.jobs", "procrastinate.worker", f"procrastinate.worker.{WORKER_NAME}")

    @classmethod
    def install(cls) -> None:
        """Add the filter to `LOGGERS` (once)."""
        for name in cls.LOGGERS:
            target = logging.getLogger(name)
            if not any(isinstance(f, cls) for f in target.filters):
                target.addFilter(cls())

    def filter(self, record: logging.LogRecord) -> bool:
        """Scrub the record; never drops one."""
        job: object = getattr(record, "job", None)
        if isinstance(job, dict):
            record.job = _scrubbed(cast("dict[str, Any]", job))
        jobs: object = getattr(record, "jobs", None)
        if isinstance(jobs, list):
            record.jobs = [
                _scrubbed(cast("dict[str, Any]", item)) if isinstance(item, dict) else item
                for item in cast("list[object]", jobs)
            ]
        return True


def _scrubbed(job: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: object = job.get("task_kwargs")
    event: object = (
        cast("dict[str, Any]", kwargs).get("event") if isinstance(kwargs, dict) else None
    )
    ids: dict[str, Any] = {}
    if isinstance(event, dict):
        fields = cast("dict[str, Any]", event)
        ids = {"event": {"event_id": fields.get("event_id"), "ticket_id": fields.get("ticket_id")}}
    return {**job, "task_kwargs": ids}
