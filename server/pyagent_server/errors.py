"""Every failure as ``{"error": "<one sentence>"}`` with its HTTP status."""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

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

__all__ = [
    "BodyTimeout",
    "BodyTooLarge",
    "StatusError",
    "Unauthenticated",
    "error_reply",
    "validation_error",
]

logger = logging.getLogger("pyagent.server")

_INTERNAL = "The server could not handle this request; please try again later."


class Unauthenticated(UserError):
    """No token, or one the server does not know."""


class BodyTooLarge(UserError):
    """The request body is over `MAX_BODY_BYTES`."""


class BodyTimeout(UserError):
    """The request body did not arrive in time (a client that announced more than it sent)."""


class StatusError(UserError):
    """A refusal with its own status: a malformed body (400/422), an unknown path (404)."""

    def __init__(self, message: str, *, status: int) -> None:
        super().__init__(message)
        self.status = status


_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (Unauthenticated, 401),
    (BodyTooLarge, 413),
    (BodyTimeout, 408),
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


def error_reply(error: BaseException) -> tuple[int, dict[str, str], dict[str, str]]:
    """Status, ``{"error": ...}`` body and headers for `error`."""
    if isinstance(error, StatusError):
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


def validation_error(errors: Any) -> StatusError:
    """A FastAPI validation error as one sentence, without echoing the input."""
    problems: list[Mapping[str, Any]] = list(errors)
    if any(problem.get("type") == "json_invalid" for problem in problems):
        return StatusError("the request body is not valid JSON", status=400)
    details = "; ".join(
        f"{'.'.join(str(part) for part in problem.get('loc', ())[1:]) or 'body'}: "
        f"{problem.get('msg', 'invalid')}"
        for problem in problems
    )
    # the body, or the query string and path of the URL
    what = "request body" if all(_in_body(problem) for problem in problems) else "request"
    return StatusError(f"the {what} does not have the expected shape ({details})", status=422)


def _in_body(problem: Mapping[str, Any]) -> bool:
    location = tuple(problem.get("loc", ()))
    return not location or location[0] == "body"
