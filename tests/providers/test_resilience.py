import asyncio
import time

import pytest

from pyagent_providers import (
    AuthenticationError,
    ProviderConnectionError,
    ProviderHTTPError,
    RateLimitError,
    RetryPolicy,
)
from pyagent_providers.resilience import call_with_retries, parse_retry_after, shared_throttler


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)


async def run(errors: list[Exception], policy: RetryPolicy, sleeps: Sleeps) -> str:
    remaining = list(errors)

    async def attempt() -> str:
        if remaining:
            raise remaining.pop(0)
        return "ok"

    return await call_with_retries(attempt, policy, sleep=sleeps)


async def test_retry_after_is_honoured() -> None:
    sleeps = Sleeps()
    assert await run([RateLimitError("slow", retry_after=1.5)], RetryPolicy(), sleeps) == "ok"
    assert sleeps.delays == [1.5]


async def test_backoff_grows_with_jitter_within_bounds() -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_attempts=4, initial_delay=1.0, multiplier=2.0)
    errors: list[Exception] = [ProviderHTTPError("boom", status_code=500) for _ in range(3)]
    assert await run(errors, policy, sleeps) == "ok"
    for delay, ceiling in zip(sleeps.delays, [1.0, 2.0, 4.0], strict=True):
        assert ceiling / 2 <= delay <= ceiling


async def test_gives_up_after_max_attempts() -> None:
    sleeps = Sleeps()
    errors: list[Exception] = [ProviderConnectionError("reset") for _ in range(3)]
    with pytest.raises(ProviderConnectionError):
        await run(errors, RetryPolicy(max_attempts=3), sleeps)
    assert len(sleeps.delays) == 2


@pytest.mark.parametrize(
    "error",
    [
        AuthenticationError("bad key", status_code=401),
        ProviderHTTPError("bad request", status_code=400),
        RateLimitError("quota", retry_after=3600),  # longer than max_retry_after: fail now
    ],
)
async def test_never_retried(error: Exception) -> None:
    sleeps = Sleeps()
    with pytest.raises(type(error)):
        await run([error], RetryPolicy(), sleeps)
    assert sleeps.delays == []


def test_retry_after_header_forms() -> None:
    assert parse_retry_after({"retry-after": "2"}) == 2.0
    assert parse_retry_after({"retry-after-ms": "250", "retry-after": "9"}) == 0.25
    assert parse_retry_after({"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}) == 0.0
    assert parse_retry_after({"retry-after": "soon"}) is None
    assert parse_retry_after({}) is None


async def test_throttler_holds_the_rate() -> None:
    throttler = shared_throttler("test-rate", 20.0)
    assert shared_throttler("test-rate", 20.0) is throttler  # one budget per key and rate
    started = time.monotonic()

    async def one() -> None:
        async with throttler:
            pass

    await asyncio.gather(*(one() for _ in range(30)))
    # 30 requests at 20/s: the last 10 must wait for the first second's window to pass.
    assert time.monotonic() - started >= 1.0
