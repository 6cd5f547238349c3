"""``POST /v1/webhooks/tickets``: a helpdesk's new-ticket webhook (seed 004), answered once.

The helpdesk (Zendesk, Intercom, HubSpot...) signs each delivery with the shared secret:
``X-Pyagent-Signature: sha256=<hex HMAC-SHA-256 of the raw body>``. The signature is
checked on the raw bytes, in constant time, before the body is parsed; a missing or wrong
signature is 401. Without a secret (``PYAGENT_WEBHOOK_SECRET`` unset) the route answers
404 "webhooks are not configured": the endpoint does not exist on this server, and a
helpdesk should not keep retrying it.

Each ticket is one conversation, ``ticket-<ticket_id>``; each event is one customer
message, ``event-<event_id>``, so a redelivered event (a helpdesk retries until it gets
a 2xx) returns the reply stored the first time (``"status": "duplicate"``) and nothing
runs twice. `process_ticket_event` does the work on its own, so a task queue's worker
can call it instead of the request.

Where the work happens:

- **With a task queue** (`TicketQueue`, built when ``PYAGENT_DATABASE_URL`` names
  PostgreSQL): the event is checked (ids, text length), enqueued and answered at once,
  202 ``{"event_id", "ticket_id", "status": "queued"}``; ``pyagent worker`` processes it,
  with retries, and a job that fails for good is a dead letter (`pyagent_server.tickets`).
  People (agent tokens) list dead letters with ``GET /v1/webhooks/failed`` and queue one
  again with ``POST /v1/webhooks/failed/{job_id}/retry``.
- **Without one** (the embedded SQLite default: one process, no shared database to hand
  tickets to), the ticket is answered inline, in the request, as above; the dead-letter
  routes answer 404.
"""

import hashlib
import hmac
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, ValidationError

from pyagent_patterns.chat import ChatHandler
from pyagent_patterns.chat.validation import checked_id, checked_text
from pyagent_providers import NotFoundError

from .errors import Unauthenticated, validation_error
from .models import TicketEventBody, WebhookOut
from .routing import CallerDependency, GuardedRoute, people_only

if TYPE_CHECKING:
    from .tickets import TicketQueue

__all__ = [
    "SIGNATURE_HEADER",
    "FailedTicketOut",
    "RetriedOut",
    "WebhookQueuedOut",
    "check_ticket",
    "process_ticket_event",
    "sign",
    "webhook_routes",
]

SIGNATURE_HEADER = "X-Pyagent-Signature"
_PREFIX = "sha256="


def sign(secret: bytes, body: bytes) -> str:
    """The signature header value of `body`: ``sha256=<hex HMAC-SHA-256>``."""
    return _PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, body: bytes, header: str | None) -> None:
    """Check the signature of the raw `body`, in constant time.

    Raises:
        Unauthenticated: The header is missing or does not match.
    """
    if not header:
        raise Unauthenticated(f"sign the body: send {SIGNATURE_HEADER}: sha256=<hex HMAC>")
    expected = sign(secret, body).encode()
    given = header.strip().lower().encode("utf-8", "replace")
    if not hmac.compare_digest(expected, given):
        raise Unauthenticated(f"the {SIGNATURE_HEADER} header does not match the body")


async def process_ticket_event(handler: ChatHandler, event: TicketEventBody) -> dict[str, Any]:
    """Answer one ticket event: its ticket's conversation gets the message, once per event.

    Returns:
        ``{"event_id", "ticket_id", "status": "processed" | "duplicate", "reply"}``.
    """
    reply = await handler.reply(
        f"ticket-{event.ticket_id}",
        _text(event),
        message_id=f"event-{event.event_id}",
        user_id=event.customer_id,
    )
    return {
        "event_id": event.event_id,
        "ticket_id": event.ticket_id,
        "status": "duplicate" if reply.duplicate else "processed",
        "reply": reply.as_dict(),
    }


class WebhookQueuedOut(BaseModel):
    """A ticket event handed to the task queue (202): a worker answers it."""

    event_id: str
    ticket_id: str
    status: Literal["queued"] = Field(
        description="queued: a worker will answer it (or it is queued already)."
    )


class RetriedOut(BaseModel):
    """A dead letter queued again (202)."""

    job_id: int
    event_id: str | None
    ticket_id: str | None
    status: Literal["queued"]


class FailedTicketOut(BaseModel):
    """A dead letter: a ticket job that failed for good (ids only)."""

    job_id: int
    event_id: str | None
    ticket_id: str | None
    attempts: int = Field(description="Attempts made, the last one included.")
    error: str | None = Field(description="The class of the last attempt's error.")
    failed_at: str | None = Field(description="When it failed (ISO 8601).")


def check_ticket(handler: ChatHandler, event: TicketEventBody) -> None:
    """What the handler would refuse at once, refused at the door (before enqueueing).

    Raises:
        UserError: A malformed ticket or event id, or an empty or too long message.
    """
    checked_id(f"ticket-{event.ticket_id}", "ticket_id")
    checked_id(f"event-{event.event_id}", "event_id")
    checked_text(_text(event), handler.max_message_chars)


def _text(event: TicketEventBody) -> str:
    return event.body if not event.subject else f"{event.subject}\n\n{event.body}"


def webhook_routes(
    handler: ChatHandler,
    secret: bytes | None,
    *,
    caller: CallerDependency | None = None,
    tickets: "TicketQueue | None" = None,
) -> APIRouter:
    """The webhook route, and the dead letters' for people (`caller`).

    Without `secret` the webhook answers 404; without `tickets` tickets are answered
    inline and the dead-letter routes answer 404 (see the module docstring).
    """
    routes = APIRouter(route_class=GuardedRoute, tags=["webhooks"])

    @routes.post(
        "/v1/webhooks/tickets",
        summary="A new ticket or ticket message from the helpdesk (HMAC-signed, idempotent)",
        response_model=WebhookOut,
        responses={
            202: {
                "model": WebhookQueuedOut,
                "description": "Queued for a worker (servers with a task queue).",
            }
        },
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {"application/json": {"schema": TicketEventBody.model_json_schema()}},
            }
        },
    )
    async def ticket_event(
        request: Request,
        signature: Annotated[
            str | None,
            Header(
                alias=SIGNATURE_HEADER,
                description="sha256=<hex HMAC-SHA-256 of the raw body under the webhook secret>",
            ),
        ] = None,
    ) -> Any:
        if secret is None:
            raise NotFoundError("webhooks are not configured on this server")
        body = await request.body()
        verify_signature(secret, body, signature)
        try:
            event = TicketEventBody.model_validate_json(body)
        except ValidationError as error:
            raise validation_error(
                {**problem, "loc": ("body", *problem["loc"])} for problem in error.errors()
            ) from None
        if tickets is None:
            return await process_ticket_event(handler, event)
        check_ticket(handler, event)
        await tickets.enqueue(event)
        queued = {"event_id": event.event_id, "ticket_id": event.ticket_id, "status": "queued"}
        return JSONResponse(queued, status_code=202)

    if caller is not None:
        _dead_letter_routes(routes, people_only(caller), tickets)
    return routes


def _dead_letter_routes(
    routes: APIRouter,
    person: Callable[..., Coroutine[Any, Any, str]],
    tickets: "TicketQueue | None",
) -> None:
    def queue() -> "TicketQueue":
        if tickets is None:
            raise NotFoundError(
                "this server has no task queue: tickets are answered inline "
                "(set PYAGENT_DATABASE_URL to queue them)"
            )
        return tickets

    @routes.get(
        "/v1/webhooks/failed",
        summary="Ticket jobs that failed for good (dead letters), newest first; people only",
        response_model=list[FailedTicketOut],
    )
    async def failed_tickets(
        agent: Annotated[str, Depends(person)],
        limit: Annotated[int, Query(ge=1, le=1_000)] = 100,
    ) -> list[dict[str, Any]]:
        return [dead.as_dict() for dead in await queue().failed(limit=limit)]

    @routes.post(
        "/v1/webhooks/failed/{job_id}/retry",
        summary="Queue a dead letter again; people only",
        status_code=202,
        response_model=RetriedOut,
    )
    async def retry_ticket(job_id: int, agent: Annotated[str, Depends(person)]) -> dict[str, Any]:
        dead = await queue().retry(job_id)
        return {
            "job_id": job_id,
            "event_id": dead.event_id,
            "ticket_id": dead.ticket_id,
            "status": "queued",
        }
