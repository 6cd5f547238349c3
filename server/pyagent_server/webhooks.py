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
"""

import hashlib
import hmac
from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from pydantic import ValidationError

from pyagent_patterns.chat import ChatHandler
from pyagent_providers import NotFoundError

from .errors import Unauthenticated, validation_error
from .models import TicketEventBody, WebhookOut
from .routing import GuardedRoute

__all__ = ["SIGNATURE_HEADER", "process_ticket_event", "sign", "webhook_routes"]

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
    text = event.body if not event.subject else f"{event.subject}\n\n{event.body}"
    reply = await handler.reply(
        f"ticket-{event.ticket_id}",
        text,
        message_id=f"event-{event.event_id}",
        user_id=event.customer_id,
    )
    return {
        "event_id": event.event_id,
        "ticket_id": event.ticket_id,
        "status": "duplicate" if reply.duplicate else "processed",
        "reply": reply.as_dict(),
    }


def webhook_routes(handler: ChatHandler, secret: bytes | None) -> APIRouter:
    """The webhook route; without `secret` it answers 404 (see the module docstring)."""
    routes = APIRouter(route_class=GuardedRoute, tags=["webhooks"])

    @routes.post(
        "/v1/webhooks/tickets",
        summary="A new ticket or ticket message from the helpdesk (HMAC-signed, idempotent)",
        response_model=WebhookOut,
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
    ) -> dict[str, Any]:
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
        return await process_ticket_event(handler, event)

    return routes
