"""pyagent_server: the HTTP service around a `ChatHandler` (``pyagent serve``), on FastAPI.

::

    app = create_app(handler, customer_secret=secret, agent_tokens={"tok-3f9a": "Dana"},
                     webhook_secret=hook_secret)
    uvicorn.run(app, host="127.0.0.1", port=8000)

Endpoints (OpenAPI docs with every schema at ``/docs``, served offline):

- ``POST /v1/conversations/{id}/messages`` ``{"text", "message_id"?}`` → the `ChatReply`;
  with ``Accept: text/event-stream`` (or ``?stream=true``) the reply streams as server-sent
  events: ``delta`` ``{"text"}``, ``reset`` (discard the text so far), ``done`` (the reply),
  and ``error`` ``{"error"}`` if the turn fails after the stream started.
- ``GET /v1/conversations/{id}`` → the conversation with its (redacted) messages.
- ``GET /v1/queue``, ``POST /v1/queue/{id}/claim``, ``POST /v1/queue/{id}/reply``
  ``{"text"}``, ``POST /v1/queue/{id}/hand-back``: the human queue, for people only;
  ``POST /v1/queue/{id}/draft`` ``{"text": null | "..."}`` sends a held draft as it is or
  replaced (→ the stored message); ``POST /v1/queue/{id}/approve`` and ``/decline``
  ``{"note"?}`` decide the tool call the conversation waits on, and the turn resumes (→
  its reply). 409 when nothing waits.
- ``GET /v1/audit?conversation_id=&since=&where=&kind=&limit=`` → ``{"events": [...]}``,
  for people only: ``since`` an ISO date/time or an age (``24h``, ``7d``), ``where``
  (repeatable) ``FIELD OP VALUE`` such as ``confidence<0.9``, ``kind`` (repeatable)
  ``decision``, ``tool_call``, ``reply``, ``human_action``. A bad value is 400.
- ``POST /v1/webhooks/tickets`` ``{"event_id", "ticket_id", "customer_id"?, "subject"?,
  "body"}`` with ``X-Pyagent-Signature: sha256=<hex HMAC-SHA-256 of the raw body>`` (the
  ``webhook_secret``): the ticket's conversation ``ticket-<ticket_id>`` answers the event
  once → ``{"event_id", "ticket_id", "status": "processed" | "duplicate", "reply"}``; with
  a task queue (``tickets=``, PostgreSQL) it is enqueued at once → 202 ``{"event_id",
  "ticket_id", "status": "queued"}`` and ``pyagent worker`` answers it. A missing or wrong
  signature is 401; with no webhook secret the route is 404 (see
  `pyagent_server.webhooks`, `pyagent_server.tickets`).
- ``GET /v1/webhooks/failed`` and ``POST /v1/webhooks/failed/{job_id}/retry``: the queue's
  dead letters (tickets whose retries ran out), for people only.
- ``GET /healthz``: liveness. ``GET /readyz``: readiness, the conversation store reads
  (and Redis answers ``PING`` when configured, reported but not fatal: rate limits fail
  open) → 200 ``{"status": "ready", "checks"}`` or 503 with ``Retry-After`` naming the
  failed check (see `pyagent_server.readiness`).

Decisions:

- **Customers** send ``Authorization: Bearer <user_id>.<signature>``, the signature being
  base64url HMAC-SHA-256 of the user id under the server's customer secret. The service
  that embeds the chat has already authenticated its customer and issues the token with
  `issue_customer_token`; the server keeps no sessions. Tokens do not expire: rotate the
  secret to revoke them all. A customer may only write to and read their own
  conversations: another customer's conversation is 404 with the very body a missing
  one gets (``{"error": "No conversation '<id>'."}``), so a customer cannot learn
  which conversation ids exist.
- **People** (queue staff) send a token from ``agent_tokens`` (token → the person's name);
  every known token is compared in constant time. People may read any conversation and
  use the queue and the audit trail; they answer customers through the queue, not the
  customer endpoint.
- **The helpdesk** authenticates by signing each webhook body, not with a bearer token.
- **Errors** are ``{"error": "<one sentence>"}``, never a stack trace or the customer's
  text: 400 invalid JSON or a refused message (`UserError`), 401 missing or bad token
  or webhook signature (with ``WWW-Authenticate: Bearer``), 403 a customer on the queue
  or audit trail or a person on the customer endpoint (`AccessDenied`), 404
  `NotFoundError` (also another customer's conversation), 409 `ConflictError`, 413 a
  body over 64 KiB (the declared Content-Length and the bytes received are both checked
  before anything parses the body), 408 a body that has not all arrived 10 s after its
  headers (``body_timeout``; the connection is closed, so a client that announces more
  than it sends cannot hold one), 422 a body of the wrong shape, 429 `TooManyRequests`
  with ``Retry-After``, and 500 for anything else (only the exception's type is logged).
  The handler validates a message before storing it, so a refused request leaves the
  conversation as it was.
- A malformed body is reported before a missing token (FastAPI reads the body first);
  neither reaches the handler.
- **Email-like ids** in a path (``/v1/conversations/jane.doe@example.com``) reach the
  handler as given and are stored, logged and quoted in errors as their pseudonyms
  (`Pseudonyms`); uvicorn's access log (``uvicorn.access``) gets a filter that writes
  them the same way, so no log line carries them.
"""

from .app import MAX_BODY_BYTES, create_app
from .models import MessageBody, ReplyBody, TicketEventBody
from .tokens import issue_customer_token, verify_customer_token
from .webhooks import SIGNATURE_HEADER, process_ticket_event, sign

__all__ = [
    "MAX_BODY_BYTES",
    "SIGNATURE_HEADER",
    "MessageBody",
    "ReplyBody",
    "TicketEventBody",
    "create_app",
    "issue_customer_token",
    "process_ticket_event",
    "sign",
    "verify_customer_token",
]
