"""What every SDK-backed provider shares: keys, timeout, retries, throttling, logging.

A provider subclass implements three things: building its SDK client, one attempt of a
call (`_complete_once` / `_stream_once`), and mapping its SDK's exceptions to ours
(`_map_error`, the one place that knows the SDK's error classes).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from typing import Any, Generic, TypeVar

import httpx2

from .errors import (
    AuthenticationError,
    ConfigurationError,
    ProviderConnectionError,
    ProviderError,
    ProviderHTTPError,
    ProviderTimeoutError,
    RateLimitError,
)
from .pricing import priced
from .resilience import RetryPolicy, call_with_retries, parse_retry_after, shared_throttler
from .types import ModelRequest, ModelResponse, StreamEnd, StreamEvent

logger = logging.getLogger("pyagent.providers")
ClientT = TypeVar("ClientT")

DEFAULT_TIMEOUT = 60.0


class SDKProvider(ABC, Generic[ClientT]):
    """Base of the providers built on an official SDK client."""

    provider: str
    default_api_key_env: str | None

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        api_key_env: str | None = None,
        base_url: str | None = None,
        timeout: float = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        requests_per_second: float | None = None,
        client: ClientT | None = None,
    ) -> None:
        prefix = f"{self.provider}:"
        self.model = model.removeprefix(prefix)
        if not self.model or ":" in self.model:
            raise ConfigurationError(f"{type(self).__name__} got an invalid model {model!r}")
        self.base_url = base_url
        self.timeout = timeout
        self.retry = retry or RetryPolicy()
        self.requests_per_second = requests_per_second
        self._api_key = api_key
        self._api_key_env = api_key_env or self.default_api_key_env
        self._client = None if client is None else self._adopt_client(client)

    def __repr__(self) -> str:
        where = f", base_url={self.base_url!r}" if self.base_url else ""
        return f"{type(self).__name__}(model={self.model!r}{where})"

    @property
    def model_id(self) -> str:
        """``"provider:model"``."""
        return f"{self.provider}:{self.model}"

    # -- subclass hooks -----------------------------------------------------------------

    @abstractmethod
    def _make_client(self, api_key: str) -> ClientT:
        """Build the SDK client (SDK retries off: we own the retry budget)."""

    @abstractmethod
    def _adopt_client(self, client: ClientT) -> ClientT:
        """Return an injected SDK client with the SDK's retries switched off."""

    @abstractmethod
    async def _complete_once(
        self, client: ClientT, request: ModelRequest, time_limit: float
    ) -> ModelResponse:
        """One attempt at a complete call."""

    @abstractmethod
    def _stream_once(
        self, client: ClientT, request: ModelRequest, time_limit: float
    ) -> AsyncIterator[StreamEvent]:
        """One attempt at a streamed call."""

    @abstractmethod
    def _map_error(self, error: Exception) -> ProviderError | None:
        """Our error for an SDK exception, or ``None`` if it is not the SDK's."""

    # -- the public surface -------------------------------------------------------------

    def client(self) -> ClientT:
        """Return the SDK client, created on first use from the API key."""
        if self._client is None:
            self._client = self._make_client(self._resolve_api_key())
        return self._client

    def _resolve_api_key(self) -> str:
        if self._api_key:
            return self._api_key
        if self._api_key_env is None:
            return "not-needed"  # keyless endpoints such as a local Ollama
        key = os.environ.get(self._api_key_env)
        if not key:
            raise ConfigurationError(
                f"{type(self).__name__} needs an API key: set {self._api_key_env} "
                "or pass api_key=..."
            )
        return key

    async def complete(self, request: ModelRequest) -> ModelResponse:
        """Run `request`, retrying transient failures, and return the full response."""
        client = self.client()
        timeout = request.settings.timeout or self.timeout

        async def attempt() -> ModelResponse:
            async with self._throttle():
                started = time.perf_counter()
                try:
                    async with asyncio.timeout(timeout):
                        response = await self._complete_once(client, request, timeout)
                except Exception as error:
                    raise self._translate(error, timeout) from error
                return self._finish(response, started)

        return await call_with_retries(attempt, self.retry)

    async def stream(self, request: ModelRequest) -> AsyncIterator[StreamEvent]:
        """Stream `request` as text deltas, ending with `StreamEnd` carrying usage.

        A failure before the first delta is retried like `complete`; once text has been
        delivered a failure is raised, since the caller has already seen part of a reply.
        The timeout bounds the wait for each chunk rather than the whole stream.
        """
        client = self.client()
        timeout = request.settings.timeout or self.timeout
        retry_number = 1
        while True:
            delivered = False
            started = time.perf_counter()
            try:
                async with self._throttle():
                    async for event in self._stream_once(client, request, timeout):
                        if isinstance(event, StreamEnd):
                            event = StreamEnd(self._finish(event.response, started))
                        delivered = True
                        yield event
                return
            except Exception as error:
                mapped = self._translate(error, timeout)
                delay = None
                if isinstance(mapped, ProviderError) and not delivered:
                    delay = self.retry.backoff(retry_number, mapped)
                if delay is None:
                    raise mapped from error
                await asyncio.sleep(delay)
                retry_number += 1

    # -- helpers ------------------------------------------------------------------------

    def _throttle(self) -> Any:
        if self.requests_per_second is None:
            return _NoThrottle()
        key = f"{self.provider}:{self.base_url or 'default'}"
        return shared_throttler(key, self.requests_per_second)

    def _translate(self, error: Exception, timeout: float) -> Exception:
        mapped = self._map_error(error)
        # Both SDKs run on httpx2; a transport error mid-stream escapes them unwrapped.
        if isinstance(error, TimeoutError | httpx2.TimeoutException):
            return self._timeout_error(timeout)
        if isinstance(mapped, ProviderTimeoutError):
            return self._timeout_error(timeout)
        if mapped is None and isinstance(error, httpx2.TransportError):
            return self._connection_error()
        return mapped or error

    # Builders for `_map_error`: the SDKs differ in class names, not in what they mean.

    def _timeout_error(self, timeout: float) -> ProviderTimeoutError:
        return ProviderTimeoutError(
            f"{self.model_id} did not answer within {timeout:g}s",
            provider=self.provider,
            model=self.model,
        )

    def _connection_error(self) -> ProviderConnectionError:
        return ProviderConnectionError(
            f"{self.model_id}: connection failed or dropped",
            provider=self.provider,
            model=self.model,
        )

    def _status_error(self, status: int, headers: Mapping[str, str], detail: str) -> ProviderError:
        reason = f"{self.model_id} answered HTTP {status}: {detail[:300]}"
        retry_after = parse_retry_after(headers)
        provider, model = self.provider, self.model
        if status == 429:
            return RateLimitError(reason, retry_after=retry_after, provider=provider, model=model)
        if status in (401, 403):
            return AuthenticationError(reason, status_code=status, provider=provider, model=model)
        return ProviderHTTPError(
            reason, status_code=status, retry_after=retry_after, provider=provider, model=model
        )

    def _other_error(self, error: Exception) -> ProviderError:
        return ProviderError(
            f"{self.model_id}: {type(error).__name__}", provider=self.provider, model=self.model
        )

    def _finish(self, response: ModelResponse, started: float) -> ModelResponse:
        latency = time.perf_counter() - started
        logger.debug(
            "%s answered in %.3fs (in=%d out=%d cached=%d tokens)",
            self.model_id,
            latency,
            response.usage.input_tokens,
            response.usage.output_tokens,
            response.usage.cached_input_tokens,
        )
        return priced(replace(response, latency_s=latency))


class _DropRequestBodies(logging.Filter):
    """Drops an SDK's DEBUG record of full request options: they hold customer text."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Request options")


def keep_request_bodies_out_of_logs(sdk_logger: str) -> None:
    """Filter `sdk_logger` so message content never reaches logs, even at DEBUG."""
    target = logging.getLogger(sdk_logger)
    if not any(isinstance(f, _DropRequestBodies) for f in target.filters):
        target.addFilter(_DropRequestBodies())


class _NoThrottle:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None
