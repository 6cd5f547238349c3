"""The HTTP server around a `ChatHandler` (``pyagent serve``), built with FastAPI.

::

    app = create_app(handler, customer_secret=secret, agent_tokens={"tok-3f9a": "Dana"})
    uvicorn.run(app, host="127.0.0.1", port=8000)

Endpoints (OpenAPI docs at ``/docs``):

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

import base64
import hashlib
import hmac
import json
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping, MutableMapping
from dataclasses import dataclass
from importlib.metadata import version
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import unquote

from pydantic import BaseModel, Field

from pyagent_providers import (
    AccessDenied,
    ConfigurationError,
    ConflictError,
    MissingDependencyError,
    NotFoundError,
    StoreUnavailable,
    TooManyRequests,
    UserError,
)

from .handler import ChatEvent, ChatHandler
from .pseudonyms import Pseudonyms, is_email_like

if TYPE_CHECKING:
    from fastapi import FastAPI

__all__ = [
    "MAX_BODY_BYTES",
    "MessageBody",
    "ReplyBody",
    "create_app",
    "issue_customer_token",
    "verify_customer_token",
]

logger = logging.getLogger("pyagent.chat.server")

MAX_BODY_BYTES = 64 * 1024
_USER_ID = re.compile(r"^[\x21-\x7e]{1,128}$")  # printable ASCII: it travels in a header
_INTERNAL = "The server could not handle this request; please try again later."

# ASGI, spelled out so that this module imports without Starlette.
_ASGIMessage = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_ASGIMessage]]
_Send = Callable[[_ASGIMessage], Awaitable[None]]
_ASGIApp = Callable[[_ASGIMessage, _Receive, _Send], Awaitable[None]]


class MessageBody(BaseModel):
    """A customer's message."""

    text: str = Field(description="The message.")
    message_id: str | None = Field(
        default=None,
        description="Your id for the message: delivering it again returns the same reply.",
    )


class ReplyBody(BaseModel):
    """A person's reply to the customer."""

    text: str = Field(description="The reply.")


# -- customer tokens ---------------------------------------------------------------------


def issue_customer_token(secret: bytes, user_id: str) -> str:
    """The bearer token that lets customer `user_id` use the chat server.

    Args:
        secret: The server's customer secret.
        user_id: The customer, as the embedding service knows them (1-128 printable
            ASCII characters).

    Raises:
        UserError: The secret is empty or the user id is not valid.
    """
    if not secret:
        raise UserError("the customer secret is empty")
    if not _USER_ID.match(user_id):
        raise UserError("a user id must be 1-128 printable ASCII characters without spaces")
    return f"{user_id}.{_signature(secret, user_id)}"


def verify_customer_token(secret: bytes, token: str) -> str | None:
    """The user id a customer token was issued for, or ``None`` if it is not valid."""
    user_id, _, signature = token.rpartition(".")  # base64url has no dots; user ids may
    if not secret or not _USER_ID.match(user_id):
        return None
    expected = _signature(secret, user_id).encode()
    return user_id if hmac.compare_digest(expected, signature.encode()) else None


def _signature(secret: bytes, user_id: str) -> str:
    digest = hmac.new(secret, user_id.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _person(agent_tokens: Mapping[str, str], token: str) -> str | None:
    """The person `token` belongs to; every token is compared, so timing tells nothing."""
    found = None
    for known, name in agent_tokens.items():
        if hmac.compare_digest(known.encode(), token.encode()):
            found = name
    return found


@dataclass(frozen=True, slots=True)
class _Caller:
    role: Literal["customer", "person"]
    name: str  # the customer's user id, or the person's name


# -- errors ------------------------------------------------------------------------------


class _Unauthenticated(UserError):
    """No token, or one the server does not know."""


class _BodyTooLarge(UserError):
    """The request body is over `MAX_BODY_BYTES`."""


class _StatusError(UserError):
    """A refusal with its own status: a malformed body (400/422), an unknown path (404)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (_Unauthenticated, 401),
    (_BodyTooLarge, 413),
    (TooManyRequests, 429),
    (NotFoundError, 404),
    (AccessDenied, 403),
    (ConflictError, 409),
    (StoreUnavailable, 503),
    # the server's own setup is wrong: not something the caller can fix
    (ConfigurationError, 500),
    (MissingDependencyError, 500),
    (UserError, 400),
)


def _error_reply(error: BaseException) -> tuple[int, dict[str, str], dict[str, str]]:
    """Status, ``{"error": ...}`` body and headers for `error`."""
    if isinstance(error, _StatusError):
        status = error.status
    else:
        status = next((code for kind, code in _STATUS if isinstance(error, kind)), 500)
    if status == 500:
        logger.error("request failed: %s", type(error).__name__)  # its text may hold PII
        return 500, {"error": _INTERNAL}, {}
    headers: dict[str, str] = {}
    if isinstance(error, TooManyRequests | StoreUnavailable):
        headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))
    elif status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    return status, {"error": _sentence(str(error))}, headers


def _sentence(message: str) -> str:
    message = message.strip() or "the request was refused"
    return message[0].upper() + message[1:] + ("" if message[-1] in ".!?" else ".")


def _validation_error(errors: Any) -> _StatusError:
    """A FastAPI validation error as one sentence, without echoing the input."""
    problems: list[Mapping[str, Any]] = list(errors)
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return _StatusError("the request body is not valid JSON", status=400)
    details = "; ".join(
        f"{'.'.join(str(part) for part in problem.get('loc', ())[1:]) or 'body'}: "
        f"{problem.get('msg', 'invalid')}"
        for problem in problems
    )
    return _StatusError(
        f"the request body does not have the expected shape ({details})", status=422
    )


class _BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before anything parses them.

    Both the declared Content-Length and the bytes actually received are checked (a
    chunked body declares no length); the body is then replayed to the application.
    """

    def __init__(self, app: _ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: _ASGIMessage, receive: _Receive, send: _Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send)
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return await self._refuse(send)
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        pending = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

        async def replay() -> _ASGIMessage:
            # afterwards, pass through: streaming responses wait for the disconnect
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, send: _Send) -> None:
        error = _BodyTooLarge(f"the request body is over the limit of {self.limit // 1024} KiB")
        status, body, _ = _error_reply(error)
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


# -- server-sent events ------------------------------------------------------------------


def _sse(event: str, data: Mapping[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _chat_event(event: ChatEvent) -> str:
    if event.type == "done" and event.reply is not None:
        return _sse("done", event.reply.as_dict())
    return _sse(event.type, {"text": event.text} if event.type == "delta" else {})


async def _event_stream(first: ChatEvent, rest: AsyncIterator[ChatEvent]) -> AsyncIterator[str]:
    yield _chat_event(first)
    try:
        async for event in rest:
            yield _chat_event(event)
    except Exception as error:  # the status line is sent: report it in the stream
        yield _sse("error", _error_reply(error)[1])


# -- the access log ----------------------------------------------------------------------

_PATH_PART = re.compile(r"[^/?&=;\s]+")


class _PseudonymousAccessLog(logging.Filter):
    """Writes email-like parts of the paths in uvicorn's access log as their pseudonyms.

    uvicorn logs each request's raw path, which can hold an email-like conversation id;
    this filter rewrites the record's arguments before any handler formats them. One
    filter serves the process; the most recent `create_app` sets its `ids`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ids: Pseudonyms | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        ids = self.ids
        if ids is None or not isinstance(record.args, tuple):
            return True

        def stored(part: re.Match[str]) -> str:
            decoded = unquote(part.group())
            return ids(decoded) if is_email_like(decoded) else part.group()

        record.args = tuple(
            _PATH_PART.sub(stored, arg) if isinstance(arg, str) else arg for arg in record.args
        )
        return True


_ACCESS_LOG = _PseudonymousAccessLog()


# -- the application ---------------------------------------------------------------------


def create_app(
    handler: ChatHandler, *, customer_secret: bytes, agent_tokens: Mapping[str, str]
) -> "FastAPI":
    """The FastAPI application serving `handler` (see the module docstring).

    Args:
        handler: The chat handler.
        customer_secret: Key of the customers' tokens (`issue_customer_token`).
        agent_tokens: Bearer token → name of each person who works the queue.

    Raises:
        MissingDependencyError: FastAPI is not installed (extra ``server``).
        UserError: The customer secret is empty.
    """
    try:
        from fastapi import Depends, FastAPI, Request, Response
        from fastapi.exceptions import RequestValidationError
        from fastapi.responses import JSONResponse, StreamingResponse
        from fastapi.routing import APIRoute
        from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
        from starlette.exceptions import HTTPException
    except ImportError as exc:
        raise MissingDependencyError("fastapi", "server") from exc
    if not customer_secret:
        raise UserError("the customer secret is empty")
    tokens = dict(agent_tokens)
    _ACCESS_LOG.ids = handler.ids
    logging.getLogger("uvicorn.access").addFilter(_ACCESS_LOG)  # once: the same filter

    def error_response(error: BaseException) -> Response:
        if isinstance(error, RequestValidationError):
            error = _validation_error(error.errors())
        elif isinstance(error, HTTPException):  # routing: no such path or method
            error = _StatusError(str(error.detail), status=error.status_code)
        status, body, headers = _error_reply(error)
        return JSONResponse(body, status_code=status, headers=headers)

    class GuardedRoute(APIRoute):
        """Answers every failure of a route as ``{"error": ...}``."""

        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            answer = super().get_route_handler()

            async def guarded(request: Request) -> Response:
                try:
                    return await answer(request)
                except Exception as error:
                    return error_response(error)

            return guarded

    bearer = HTTPBearer(
        auto_error=False,
        description="A customer token (issue_customer_token) or a person's queue token.",
    )

    async def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> _Caller:
        if credentials is None:
            raise _Unauthenticated("send a bearer token in the Authorization header")
        token = credentials.credentials
        name = _person(tokens, token)
        if name is not None:
            return _Caller("person", name)
        user_id = verify_customer_token(customer_secret, token)
        if user_id is None:
            raise _Unauthenticated("the bearer token is not valid")
        return _Caller("customer", user_id)

    async def person(who: Annotated[_Caller, Depends(caller)]) -> str:
        if who.role != "person":
            raise AccessDenied("the queue is for support staff, not customer tokens")
        return who.name

    app = FastAPI(
        title="pyagent chat",
        version=version("pyagent"),
        description="Multi-turn customer-support conversations, with a human queue.",
    )
    app.router.route_class = GuardedRoute
    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)

    @app.exception_handler(HTTPException)
    async def no_route(request: Request, error: HTTPException) -> Response:
        return error_response(error)

    @app.get("/healthz", summary="Liveness check")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post(
        "/v1/conversations/{conversation_id}/messages",
        summary="Send a customer message and get the reply (JSON, or SSE when asked)",
    )
    async def post_message(
        conversation_id: str,
        message: MessageBody,
        request: Request,
        who: Annotated[_Caller, Depends(caller)],
        stream: bool = False,
    ) -> Response:
        if who.role != "customer":
            raise AccessDenied("people answer customers through POST /v1/queue/{id}/reply")
        stream = stream or "text/event-stream" in request.headers.get("accept", "")
        if not stream:
            reply = await handler.reply(
                conversation_id, message.text, message.message_id, user_id=who.name
            )
            return JSONResponse(reply.as_dict())
        events = handler.stream_reply(
            conversation_id, message.text, message.message_id, user_id=who.name
        )
        first = await anext(events)  # a refused message raises here: a plain error reply
        return StreamingResponse(
            _event_stream(first, events),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.get("/v1/conversations/{conversation_id}", summary="Read a conversation")
    async def get_conversation(
        conversation_id: str, who: Annotated[_Caller, Depends(caller)]
    ) -> dict[str, Any]:
        owner = who.name if who.role == "customer" else None
        return (await handler.conversation(conversation_id, user_id=owner)).as_dict()

    @app.get("/v1/queue", summary="List escalated conversations (people only)")
    async def list_queue(agent: Annotated[str, Depends(person)]) -> list[dict[str, Any]]:
        return [c.as_dict(with_messages=False) for c in await handler.queue()]

    @app.post("/v1/queue/{conversation_id}/claim", summary="Take an escalated conversation")
    async def claim(conversation_id: str, agent: Annotated[str, Depends(person)]) -> dict[str, Any]:
        return (await handler.claim(conversation_id, agent)).as_dict()

    @app.post("/v1/queue/{conversation_id}/reply", summary="Reply to the customer as a person")
    async def person_reply(
        conversation_id: str, reply: ReplyBody, agent: Annotated[str, Depends(person)]
    ) -> dict[str, Any]:
        return (await handler.human_reply(conversation_id, agent, reply.text)).as_dict()

    @app.post("/v1/queue/{conversation_id}/hand-back", summary="Return a conversation to the bot")
    async def hand_back(
        conversation_id: str, agent: Annotated[str, Depends(person)]
    ) -> dict[str, Any]:
        return (await handler.hand_back(conversation_id, agent)).as_dict()

    return app
