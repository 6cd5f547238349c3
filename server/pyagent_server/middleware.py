"""ASGI pieces around the application: the body limits and the pseudonymous access log."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import unquote

from pyagent_patterns.chat import Pseudonyms, is_email_like
from pyagent_providers import UserError

from .errors import BodyTimeout, BodyTooLarge, error_reply

__all__ = ["ACCESS_LOG", "BODY_TIMEOUT", "BodyLimit", "PseudonymousAccessLog"]

BODY_TIMEOUT = 10.0  # seconds a request body may take to arrive, from its headers

# ASGI, spelled out so that this module imports without Starlette.
_ASGIMessage = MutableMapping[str, Any]
_Receive = Callable[[], Awaitable[_ASGIMessage]]
_Send = Callable[[_ASGIMessage], Awaitable[None]]
_ASGIApp = Callable[[_ASGIMessage, _Receive, _Send], Awaitable[None]]


class BodyLimit:
    """Refuses request bodies over `limit` bytes (413) or slower than `timeout` (408).

    Both the declared Content-Length and the bytes actually received are checked (a
    chunked body declares no length); the body is then replayed to the application.
    The whole body must arrive within `timeout` seconds of the request's headers: a
    client that announces 100 bytes and sends 10, or drips a byte now and then, gets
    408 and its connection is closed, instead of holding it (and a worker's slot).
    Both refusals are ``{"error": ...}`` with ``Connection: close``, sent before
    anything parses the body.
    """

    def __init__(self, app: _ASGIApp, *, limit: int, timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.limit = limit
        self.timeout = timeout

    async def __call__(self, scope: _ASGIMessage, receive: _Receive, send: _Send) -> None:
        """Read the body within the limits, then hand it to the application."""
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        declared = dict(scope["headers"]).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.limit:
            return await self._refuse(send, self._too_large())
        try:
            async with asyncio.timeout(self.timeout):
                body = await self._read(receive)
        except TimeoutError:
            return await self._refuse(
                send, BodyTimeout(f"the request body did not arrive within {self.timeout:g} s")
            )
        if isinstance(body, UserError):
            return await self._refuse(send, body)
        if body is None:  # the client went away
            return
        pending = [{"type": "http.request", "body": body, "more_body": False}]

        async def replay() -> _ASGIMessage:
            # afterwards, pass through: streaming responses wait for the disconnect
            return pending.pop() if pending else await receive()

        await self.app(scope, replay, send)

    async def _read(self, receive: _Receive) -> bytes | UserError | None:
        """The whole body; the refusal if it is too large; ``None`` on a disconnect."""
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return None
            chunk: bytes = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return self._too_large()
            chunks.append(chunk)
            more = bool(message.get("more_body"))
        return b"".join(chunks)

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"the request body is over the limit of {self.limit // 1024} KiB")

    async def _refuse(self, send: _Send, error: UserError) -> None:
        status, body, _ = error_reply(error)
        payload = json.dumps(body).encode()
        headers = [(b"content-type", b"application/json"), (b"connection", b"close")]
        headers.append((b"content-length", str(len(payload)).encode()))
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": payload})


_PATH_PART = re.compile(r"[^/?&=;\s]+")


class PseudonymousAccessLog(logging.Filter):
    """Writes email-like parts of the paths in uvicorn's access log as their pseudonyms.

    uvicorn logs each request's raw path, which can hold an email-like conversation id;
    this filter rewrites the record's arguments before any handler formats them. One
    filter serves the process; the most recent `create_app` sets its `ids`.
    """

    def __init__(self) -> None:
        super().__init__()
        self.ids: Pseudonyms | None = None

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's email-like path parts; never drops a record."""
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


ACCESS_LOG = PseudonymousAccessLog()
