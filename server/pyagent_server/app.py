"""`create_app`: the FastAPI application around a `ChatHandler`.

No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations at
run time, and they name dependencies defined inside functions.
"""

import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from importlib.metadata import version
from typing import TYPE_CHECKING, Annotated, Any

from pyagent_patterns.chat import ChatEvent, ChatHandler, close_store
from pyagent_providers import AccessDenied, MissingDependencyError, UserError

try:
    from fastapi import APIRouter, Depends, FastAPI, Request, Response
    from fastapi.responses import JSONResponse, StreamingResponse
    from fastapi_offline import FastAPIOffline
    from starlette.exceptions import HTTPException
except ImportError as exc:  # the server extra is optional; say which one to install
    raise MissingDependencyError(exc.name or "fastapi", "server") from exc

from .errors import error_reply
from .middleware import ACCESS_LOG, BODY_TIMEOUT, BodyLimit
from .models import ConversationOut, ErrorOut, HealthOut, MessageBody, ReplyOut
from .queue_routes import audit_routes, queue_routes
from .readiness import readiness_routes
from .routing import CallerDependency, GuardedRoute, authenticator, error_response
from .tokens import Caller
from .webhooks import webhook_routes

if TYPE_CHECKING:
    from .tickets import TicketQueue

__all__ = ["MAX_BODY_BYTES", "create_app"]

logger = logging.getLogger("pyagent.server")

MAX_BODY_BYTES = 64 * 1024
_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorOut} for code in (400, 401, 403, 404, 408, 409, 413, 422, 429, 503)
}


def create_app(
    handler: ChatHandler,
    *,
    customer_secret: bytes,
    agent_tokens: Mapping[str, str],
    webhook_secret: bytes | None = None,
    tickets: "TicketQueue | None" = None,
    body_timeout: float = BODY_TIMEOUT,
) -> FastAPI:
    """The FastAPI application serving `handler` (see the package docstring).

    ``/docs`` serves Swagger UI from the ``fastapi-offline`` package, not a CDN, so it
    works without internet access. At start-up the handler warms up (`ChatHandler.warm_up`)
    before the server accepts its first request.

    Args:
        handler: The chat handler.
        customer_secret: Key of the customers' tokens (`issue_customer_token`).
        agent_tokens: Bearer token → name of each person who works the queue.
        webhook_secret: Key of the helpdesk webhook's signatures; ``None``: the webhook
            route answers 404 (see `pyagent_server.webhooks`).
        tickets: The task queue webhook tickets go to (PostgreSQL, `pyagent_server.tickets`);
            ``None``: they are answered inline, in the request.
        body_timeout: Seconds a request body may take to arrive after its headers; a
            slower one is 408 and its connection closed (`BodyLimit`).

    Raises:
        UserError: The customer secret, or a given webhook secret, is empty.
    """
    if not customer_secret:
        raise UserError("the customer secret is empty")
    if webhook_secret is not None and not webhook_secret:
        raise UserError("the webhook secret is empty")
    ACCESS_LOG.ids = handler.ids
    logging.getLogger("uvicorn.access").addFilter(ACCESS_LOG)  # once: the same filter
    caller = authenticator(customer_secret, dict(agent_tokens))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncGenerator[None]:
        # Models load before the first request is accepted, so its deadline is its own.
        started = time.perf_counter()
        await handler.warm_up()
        logger.info("warmed up in %.1f s", time.perf_counter() - started)
        yield
        await close_store(handler.store)  # a PostgreSQL pool and its lock connection

    app = FastAPIOffline(
        title="pyagent chat",
        version=version("pyagent"),
        description="Multi-turn customer-support conversations, with a human queue.",
        redoc_url=None,
        lifespan=lifespan,
    )
    app.router.route_class = GuardedRoute
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES, timeout=body_timeout)

    @app.exception_handler(HTTPException)
    async def no_route(request: Request, error: HTTPException) -> Response:
        return error_response(error)

    @app.get("/healthz", summary="Liveness check", response_model=HealthOut)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(readiness_routes(handler))  # GET /readyz: database (and Redis)

    app.include_router(_customer_routes(handler, caller), responses=_ERRORS)
    app.include_router(queue_routes(handler, caller), responses=_ERRORS)
    app.include_router(audit_routes(handler, caller), responses=_ERRORS)
    app.include_router(
        webhook_routes(handler, webhook_secret, caller=caller, tickets=tickets), responses=_ERRORS
    )
    return app


def _customer_routes(handler: ChatHandler, caller: CallerDependency) -> APIRouter:
    routes = APIRouter(route_class=GuardedRoute, tags=["conversations"])

    @routes.post(
        "/v1/conversations/{conversation_id}/messages",
        summary="Send a customer message and get the reply (JSON, or SSE when asked)",
        response_model=ReplyOut,
    )
    async def post_message(
        conversation_id: str,
        message: MessageBody,
        request: Request,
        who: Annotated[Caller, Depends(caller)],
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

    @routes.get(
        "/v1/conversations/{conversation_id}",
        summary="Read a conversation",
        response_model=ConversationOut,
    )
    async def get_conversation(
        conversation_id: str, who: Annotated[Caller, Depends(caller)]
    ) -> dict[str, Any]:
        owner = who.name if who.role == "customer" else None
        return (await handler.conversation(conversation_id, user_id=owner)).as_dict()

    return routes


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
        yield _sse("error", error_reply(error)[1])
