"""The one retry layer and the client-side rate limiter shared by the SDK providers.

SDK-level retries are switched off in every provider so that a call has exactly one retry
budget, ours: exponential backoff with jitter, honouring the provider's Retry-After, for
rate limits, timeouts, connection errors and 5xx; never for other 4xx (a bad request or a
bad key does not get better by asking again).

This is a few lines on purpose rather than tenacity: the policy needs our error types and
the Retry-After each carries, which would be a custom wait and stop strategy there anyway.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from .errors import ProviderError

__all__ = [
    "RateLimiter",
    "RetryPolicy",
    "call_with_retries",
    "parse_retry_after",
    "shared_throttler",
]

logger = logging.getLogger("pyagent.providers")
T = TypeVar("T")


@dataclass(frozen=True, kw_only=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a failed provider call.

    Attributes:
        max_attempts: Total attempts, the first included (1 disables retries).
        initial_delay: Backoff before the first retry, in seconds.
        multiplier: Growth of the backoff per attempt.
        max_delay: Cap on one backoff.
        max_retry_after: Longest Retry-After we honour; a longer one fails the call now.

    """

    max_attempts: int = 3
    initial_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 20.0
    max_retry_after: float = 60.0

    def backoff(self, retry_number: int, error: ProviderError) -> float | None:
        """Seconds to wait before retry `retry_number` (1-based), or ``None`` to give up."""
        if not error.retryable or retry_number >= self.max_attempts:
            return None
        if error.retry_after is not None:
            return error.retry_after if error.retry_after <= self.max_retry_after else None
        ceiling = min(self.max_delay, self.initial_delay * self.multiplier ** (retry_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)  # "equal jitter"


NO_RETRY = RetryPolicy(max_attempts=1)


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    policy: RetryPolicy,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run `attempt` until it succeeds or `policy` gives up; re-raises the last error."""
    retry_number = 1
    while True:
        try:
            return await attempt()
        except ProviderError as error:
            delay = policy.backoff(retry_number, error)
            if delay is None:
                raise
            logger.warning(
                "%s:%s failed (%s); retry %d in %.2fs",
                error.provider,
                error.model,
                type(error).__name__,
                retry_number,
                delay,
            )
            await sleep(delay)
            retry_number += 1


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds to wait from ``retry-after-ms`` or ``Retry-After`` (seconds or HTTP date)."""
    try:
        if "retry-after-ms" in headers:
            return max(float(headers["retry-after-ms"]) / 1000, 0.0)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(float(value), 0.0)
        except ValueError:
            when = parsedate_to_datetime(value)
            return max((when - datetime.now(UTC)).total_seconds(), 0.0)
    except (ValueError, TypeError):
        return None


class RateLimiter:
    """Starts requests at least ``1 / requests_per_second`` seconds apart, in arrival order.

    Each entrant reserves the next start time and sleeps until it: no bursts, no polling.
    When the event loop was blocked past several reserved times, those sleepers wake
    together; each then waits until an interval after the previous real start, so a
    stall never turns into a burst (the rate drops instead of overshooting).

    Why not a window: asyncio-throttle's ``Throttler(20, 1.0)`` lets 20 requests start
    together at the top of each second; they reach the server a few milliseconds apart,
    so a 20/s limit showed 40-58 requests in one second at the server
    (bench/throughput.py), enough for a provider that enforces its limit per second to
    answer 429. Its waiters also poll every 10 ms in no particular order.
    """

    def __init__(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        self.interval = 1 / requests_per_second
        self._next_start = 0.0  # the next free reserved start (time.monotonic)
        self._last_start = float("-inf")  # the last real start

    async def __aenter__(self) -> None:
        now = time.monotonic()
        start = max(now, self._next_start)
        self._next_start = start + self.interval
        if start > now:
            await asyncio.sleep(start - now)
        # No await between this check and the update: on one loop it is atomic. (A wait
        # for a time, not for an event: asyncio.Event would not help here.)
        while (now := time.monotonic()) < self._last_start + self.interval:  # noqa: ASYNC110
            await asyncio.sleep(self._last_start + self.interval - now)
        self._last_start = now
        self._next_start = max(self._next_start, now + self.interval)

    async def __aexit__(self, *exc: object) -> None:
        return None


_throttlers: dict[tuple[str, float], RateLimiter] = {}


def shared_throttler(key: str, requests_per_second: float) -> RateLimiter:
    """The process-wide limiter for `key` at this rate (same key and rate share one budget)."""
    found = _throttlers.get((key, requests_per_second))
    if found is None:
        found = RateLimiter(requests_per_second)
        _throttlers[(key, requests_per_second)] = found
    return found
