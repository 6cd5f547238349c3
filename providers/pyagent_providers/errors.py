"""The one error tree of pyagent.

Every failure a caller can act on is a subclass of `PyAgentError`::

    PyAgentError
    ├── ProviderError                  a model provider failed (names provider and model)
    │   ├── RateLimitError             429; carries retry_after seconds when the API sent it
    │   ├── ProviderTimeoutError       no answer within the per-call timeout
    │   ├── ProviderConnectionError    connection refused, reset or dropped
    │   └── ProviderHTTPError          any other 4xx/5xx; carries status_code
    │       └── AuthenticationError    401/403: bad or missing credentials (never retried)
    ├── ModelOutputError               the model answered, but not in the requested shape
    ├── GuardrailTripped               an input/output guard refused the content
    ├── BudgetExceeded                 a call would exceed a cost budget
    ├── NoRouteError                   no route or model can serve the request
    └── UserError                      the caller's input or configuration is wrong
        ├── ConfigurationError         e.g. a missing API key or unknown model
        ├── MissingDependencyError     an optional extra is not installed
        ├── NotFoundError              e.g. no such conversation
        ├── AccessDenied               e.g. another customer's conversation
        ├── ConflictError              the request clashes with the current state
        └── TooManyRequests            a caller's rate limit; carries retry_after seconds

`ProviderError.retryable` says whether our retry layer may try again: rate limits,
timeouts, connection errors and 5xx are retryable; other 4xx are not.
"""

from __future__ import annotations

__all__ = [
    "AccessDenied",
    "AuthenticationError",
    "BudgetExceeded",
    "ConfigurationError",
    "ConflictError",
    "GuardrailTripped",
    "MissingDependencyError",
    "ModelOutputError",
    "NoRouteError",
    "NotFoundError",
    "ProviderConnectionError",
    "ProviderError",
    "ProviderHTTPError",
    "ProviderTimeoutError",
    "PyAgentError",
    "RateLimitError",
    "StoreUnavailable",
    "TooManyRequests",
    "UserError",
]


class PyAgentError(Exception):
    """Base class of every error pyagent raises on purpose."""


class ProviderError(PyAgentError):
    """A model provider call failed.

    Attributes:
        provider: Provider name, e.g. ``"openai"``.
        model: Model name the call was for.
        retry_after: Seconds the provider asked us to wait (its Retry-After), if any.

    """

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        provider: str = "",
        model: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.provider = provider
        self.model = model
        self.retry_after = retry_after


class RateLimitError(ProviderError):
    """The provider answered 429."""

    retryable = True


class ProviderTimeoutError(ProviderError):
    """The call did not complete within its timeout."""

    retryable = True


class ProviderConnectionError(ProviderError):
    """The connection failed or was dropped before a complete answer arrived."""

    retryable = True


class ProviderHTTPError(ProviderError):
    """The provider answered with an HTTP error status other than 429."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        provider: str = "",
        model: str = "",
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message, provider=provider, model=model, retry_after=retry_after)
        self.status_code = status_code
        self.retryable = status_code >= 500 or status_code in (408, 409)


class AuthenticationError(ProviderHTTPError):
    """Credentials were missing, wrong or lacked permission (401/403)."""


class ModelOutputError(PyAgentError):
    """The model's answer did not match the requested structure.

    Attributes:
        field: Dotted path of the offending field (``""`` for the whole document).
        raw: The raw text the model produced, for debugging; may contain model output,
            so it is never included in ``str(error)``.

    """

    def __init__(self, message: str, *, field: str = "", raw: str = "") -> None:
        super().__init__(message)
        self.field = field
        self.raw = raw


class GuardrailTripped(PyAgentError):
    """A guardrail refused the content."""


class BudgetExceeded(PyAgentError):
    """A call would exceed a configured cost budget."""


class NoRouteError(PyAgentError):
    """No route or model is available for the request."""


class UserError(PyAgentError):
    """The caller's input or configuration is invalid."""


class ConfigurationError(UserError):
    """The library is configured wrongly, e.g. an API key is missing."""


class NotFoundError(UserError):
    """The thing asked for does not exist (e.g. a conversation id)."""


class AccessDenied(UserError):
    """The caller may not see or change this (e.g. another customer's conversation)."""


class ConflictError(UserError):
    """The request clashes with the current state (e.g. replying to a bot-handled case)."""


class TooManyRequests(UserError):
    """A caller sent more than its rate limit allows.

    Attributes:
        retry_after: Seconds until the caller may try again.
    """

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class StoreUnavailable(PyAgentError):
    """The database is locked by another process or restarting: retry shortly.

    Nothing the request asked for was half done: the write it needed was rolled back.

    Attributes:
        retry_after: Seconds after which a retry is likely to succeed.
    """

    def __init__(self, message: str, *, retry_after: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class MissingDependencyError(UserError, ImportError):
    """An optional dependency is missing; the message names the extra to install."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"{package!r} is not installed; install it with: pip install 'pyagent[{extra}]'"
        )
