"""What every router shares: errors as ``{"error": ...}`` and who the caller is.

No ``from __future__ import annotations`` here: FastAPI reads the dependencies'
annotations at run time.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException

from pyagent_providers import AccessDenied

from .errors import StatusError, Unauthenticated, error_reply, validation_error
from .tokens import Caller, person_named, verify_customer_token

__all__ = ["CallerDependency", "GuardedRoute", "authenticator", "error_response", "people_only"]

CallerDependency = Callable[..., Coroutine[Any, Any, Caller]]


def error_response(error: BaseException) -> Response:
    """`error` as its status and ``{"error": "<one sentence>"}``."""
    if isinstance(error, RequestValidationError):
        error = validation_error(error.errors())
    elif isinstance(error, HTTPException):  # routing: no such path or method
        error = StatusError(str(error.detail), status=error.status_code)
    status, body, headers = error_reply(error)
    return JSONResponse(body, status_code=status, headers=headers)


class GuardedRoute(APIRoute):
    """Answers every failure of a route as ``{"error": ...}``."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """The route's handler, turning any exception into its error reply."""
        answer = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await answer(request)
            except Exception as error:
                return error_response(error)

        return guarded


def authenticator(customer_secret: bytes, tokens: dict[str, str]) -> CallerDependency:
    """The dependency that turns the bearer token into a customer or a person."""
    bearer = HTTPBearer(
        auto_error=False,
        description="A customer token (issue_customer_token) or a person's queue token.",
    )

    async def caller(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> Caller:
        if credentials is None:
            raise Unauthenticated("send a bearer token in the Authorization header")
        token = credentials.credentials
        name = person_named(tokens, token)
        if name is not None:
            return Caller("person", name)
        user_id = verify_customer_token(customer_secret, token)
        if user_id is None:
            raise Unauthenticated("the bearer token is not valid")
        return Caller("customer", user_id)

    return caller


def people_only(caller: CallerDependency) -> Callable[..., Coroutine[Any, Any, str]]:
    """The dependency that admits people (queue staff) only; gives the person's name."""

    async def person(who: Annotated[Caller, Depends(caller)]) -> str:
        if who.role != "person":
            raise AccessDenied("the queue is for support staff, not customer tokens")
        return who.name

    return person
