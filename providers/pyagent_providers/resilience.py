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
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

from asyncio_throttle.throttler import Throttler  # pyright: ignore[reportMissingTypeStubs]

from .errors import ProviderError

__all__ = [
    "FairThrottle",
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


class FairThrottle:
    """asyncio-throttle's `Throttler`, one request per ``1 / rate`` seconds, served in order.

    Two choices on top of asyncio-throttle, both measured with bench/throughput.py:

    - **One request per interval**, not N per second: a window of N lets N requests start
      together, and a provider that counts per second then sees bursts above the limit.
    - **First come, first served**: a plain `Throttler` lets every waiter poll every
      retry interval in no order, so under load some requests waited 20 s while others
      went at once. Here waiters queue on an `asyncio.Lock` (FIFO) and only the head
      polls, so polling often costs nothing and the rate stays within ~1% of the limit.

    The budget (the throttler's log of starts) is shared by every event loop of the
    process; the queue is per loop, as asyncio locks are.
    """

    def __init__(self, requests_per_second: float) -> None:
        if requests_per_second <= 0:
            raise ValueError("requests_per_second must be positive")
        interval = 1 / requests_per_second
        self.throttler = Throttler(rate_limit=1, period=interval, retry_interval=interval / 50)
        self._queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    async def __aenter__(self) -> None:
        queue = self._queues.setdefault(asyncio.get_running_loop(), asyncio.Lock())
        async with queue:
            await self.throttler.acquire()  # pyright: ignore[reportUnknownMemberType]

    async def __aexit__(self, *exc: object) -> None:
        return None


_throttlers: dict[tuple[str, float], FairThrottle] = {}


def shared_throttler(key: str, requests_per_second: float) -> FairThrottle:
    """The process-wide throttle for `key` at this rate (same key and rate share one budget)."""
    found = _throttlers.get((key, requests_per_second))
    if found is None:
        found = _throttlers[(key, requests_per_second)] = FairThrottle(requests_per_second)
    return found
