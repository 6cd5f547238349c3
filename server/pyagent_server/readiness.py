"""``GET /readyz``: whether this process can serve conversations now (readiness).

``/healthz`` is liveness (the process answers); ``/readyz`` checks what a turn needs:

- **database**: the conversation store reads for real. The store's ``ping()`` when it
  has one (SQLite: a new read-only connection reads the conversations and messages;
  PostgreSQL: ``SELECT 1``), else a lookup of a conversation id that never exists.
- **redis**, only when ``PYAGENT_REDIS_URL`` is set: ``PING``. Rate limits fail open
  when Redis is down (`pyagent_patterns.chat.limits`), so a failing Redis is reported
  (``"unavailable: ..."``) but does not make the process unready: taking every server
  out of the load balancer for it would refuse the customers the fail-open keeps.

Each check has `READY_TIMEOUT` seconds. Ready: 200 ``{"status": "ready", "checks":
{...}}``. Not ready: 503 with ``Retry-After`` and ``{"status": "unavailable", "error":
"<one sentence>", "checks": {...}}``, the failed check saying why. No check reveals a
conversation, a path or a URL; failures are logged once per change of state.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, cast

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from pyagent_patterns.chat import ChatHandler
from pyagent_providers import StoreUnavailable

__all__ = ["READY_TIMEOUT", "READY_RETRY_AFTER", "ReadyOut", "readiness_routes"]

logger = logging.getLogger("pyagent.server")

READY_TIMEOUT = 2.0  # seconds each check may take
READY_RETRY_AFTER = 5  # seconds a 503 asks the prober to wait
_PROBE_ID = "-readiness-probe-"  # never a conversation: ids start with a letter or digit


class ReadyOut(BaseModel):
    """What ``/readyz`` answers."""

    status: str = Field(description='"ready" (200) or "unavailable" (503)')
    checks: dict[str, str] = Field(description='Each check: "ok" or "unavailable: <why>"')
    error: str | None = Field(default=None, description="Why the process is not ready (503)")


def readiness_routes(handler: ChatHandler, *, timeout: float = READY_TIMEOUT) -> APIRouter:
    """The ``/readyz`` route for `handler`'s store and rate limiter."""
    routes = APIRouter(tags=["health"])
    state = {"ready": True}

    @routes.get(
        "/readyz",
        summary="Readiness check (database, and Redis when configured)",
        response_model=ReadyOut,
        responses={503: {"model": ReadyOut, "description": "Not ready; see checks"}},
    )
    async def readyz() -> JSONResponse:
        checks = {"database": await _check(_database_check(handler), timeout)}
        redis = _redis_check(handler)
        if redis is not None:
            checks["redis"] = await _check(redis, timeout)
        ready = checks["database"] == "ok"
        if ready != state["ready"]:
            state["ready"] = ready
            log = logger.info if ready else logger.warning
            log("readiness: %s (%s)", "ready" if ready else "not ready", checks)
        if ready:
            return JSONResponse({"status": "ready", "checks": checks})
        body = {
            "status": "unavailable",
            "error": f"The conversation store is not ready ({checks['database']}).",
            "checks": checks,
        }
        headers = {"Retry-After": str(READY_RETRY_AFTER), "Cache-Control": "no-store"}
        return JSONResponse(body, status_code=503, headers=headers)

    return routes


def _database_check(handler: ChatHandler) -> Callable[[], Awaitable[object]]:
    store: Any = handler.store
    ping = getattr(store, "ping", None)
    if callable(ping):
        return cast("Callable[[], Awaitable[object]]", ping)
    return lambda: handler.store.get(_PROBE_ID)  # a real read on any store


def _redis_check(handler: ChatHandler) -> Callable[[], Awaitable[object]] | None:
    limiter = handler.limiter
    if getattr(limiter, "shared", None) is None:
        return None
    return limiter.ping


async def _check(probe: Callable[[], Awaitable[object]], seconds: float) -> str:
    try:
        async with asyncio.timeout(seconds):
            await probe()
    except TimeoutError:
        return f"unavailable: no answer within {seconds:g} s"
    except Exception as error:  # any failure is the answer, never a 500
        return f"unavailable: {_reason(error)}"
    return "ok"


def _reason(error: Exception) -> str:
    """A store's own outage says what it is; anything else only its type (no row, no URL)."""
    text = str(error).strip().rstrip(".") if isinstance(error, StoreUnavailable) else ""
    return text or type(error).__name__
