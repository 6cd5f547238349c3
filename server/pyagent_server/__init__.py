"""pyagent_server: the HTTP service around a `ChatHandler` (``pyagent serve``), on FastAPI.

::

    app = create_app(handler, customer_secret=secret, agent_tokens={"tok-3f9a": "Dana"})
    uvicorn.run(app, host="127.0.0.1", port=8000)

Endpoints (OpenAPI docs with every schema at ``/docs``, served offline):

- ``POST /v1/conversations/{id}/messages`` ``{"text", "message_id"?}`` → the `ChatReply`;
  with ``Accept: text/event-stream`` (or ``?stream=true``) the reply streams as server-sent
  events: ``delta`` ``{"text"}``, ``reset`` (discard the text so far), ``done`` (the reply),
  and ``error`` ``{"error"}`` if the turn fails after the stream started.
- ``GET /v1/conversations/{id}`` → the conversation with its (redacted) messages.
- ``GET /v1/queue``, ``POST /v1/queue/{id}/claim``, ``POST /v1/queue/{id}/reply``
  ``{"text"}``, ``POST /v1/queue/{id}/hand-back``: the human queue, for people only.
- ``GET /healthz``.

Decisions:

- **Customers** send ``Authorization: Bearer <user_id>.<signature>``, the signature being
  base64url HMAC-SHA-256 of the user id under the server's customer secret. The service
  that embeds the chat has already authenticated its customer and issues the token with
  `issue_customer_token`; the server keeps no sessions. Tokens do not expire: rotate the
  secret to revoke them all. A customer may only write to and read their own
  conversations (the handler checks the owner and answers `AccessDenied` → 403).
- **People** (queue staff) send a token from ``agent_tokens`` (token → the person's name);
  every known token is compared in constant time. People may read any conversation and
  use the queue; they answer customers through the queue, not the customer endpoint.
- **Errors** are ``{"error": "<one sentence>"}``, never a stack trace or the customer's
  text: 400 invalid JSON or a refused message (`UserError`), 401 missing or bad token
  (with ``WWW-Authenticate: Bearer``), 403 `AccessDenied` or a customer on the queue,
  404 `NotFoundError`, 409 `ConflictError`, 413 a body over 64 KiB (the declared
  Content-Length and the bytes received are both checked before anything parses the
  body), 422 a body of the wrong shape, 429 `TooManyRequests` with ``Retry-After``, and
  500 for anything else (only the exception's type is logged). The handler validates a
  message before storing it, so a refused request leaves the conversation as it was.
- A malformed body is reported before a missing token (FastAPI reads the body first);
  neither reaches the handler.
- **Email-like ids** in a path (``/v1/conversations/jane.doe@example.com``) reach the
  handler as given and are stored, logged and quoted in errors as their pseudonyms
  (`Pseudonyms`); uvicorn's access log (``uvicorn.access``) gets a filter that writes
  them the same way, so no log line carries them.
"""

from .app import MAX_BODY_BYTES, create_app
from .models import MessageBody, ReplyBody
from .tokens import issue_customer_token, verify_customer_token

__all__ = [
    "MAX_BODY_BYTES",
    "MessageBody",
    "ReplyBody",
    "create_app",
    "issue_customer_token",
    "verify_customer_token",
]
