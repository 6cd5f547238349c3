"""Per-conversation and per-user message rate limits (a sliding window).

`RateLimiter` is what the chat handler asks before it accepts a message
(``await limiter.check(conversation_id, user_id)``, `TooManyRequests` with
``retry_after`` when a limit is reached; a refused message is not counted):

- **Shared** when ``$PYAGENT_REDIS_URL`` (or ``redis_url``) names a Redis server: the
  counts live in Redis (the ``limits`` library's moving window, ``pyagent[redis]``), so
  every process and machine of the service counts the same messages. Windows are whole
  seconds there (``window_seconds`` is rounded up).
- **In process** otherwise (`LocalRateLimiter`): each process counts its own messages.

**When Redis is down, limits fail open** (a decision): a Redis outage must never refuse a
customer. A check that fails (refused connection, error, no answer within ``timeout``)
logs one warning and falls back to this process's own sliding window, which limits each
process on its own for the outage. Redis is tried again after a backoff (1 s, doubling to
30 s) and, once it answers, the limits are shared again (logged too). Counts made in
process during the outage are not carried over to Redis.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import math
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from pyagent_providers import MissingDependencyError, StoreUnavailable, TooManyRequests, UserError

if TYPE_CHECKING:
    from limits import RateLimitItem
    from limits.aio.strategies import MovingWindowRateLimiter

__all__ = [
    "FROM_ENVIRONMENT",
    "REDIS_URL_ENV",
    "LocalRateLimiter",
    "RateLimiter",
    "RateLimits",
    "RedisRateLimiter",
    "configured_redis_url",
]

logger = logging.getLogger("pyagent.chat")

REDIS_URL_ENV = "PYAGENT_REDIS_URL"


class _FromEnvironment(enum.Enum):
    FROM_ENVIRONMENT = REDIS_URL_ENV


FROM_ENVIRONMENT = _FromEnvironment.FROM_ENVIRONMENT
"""`RateLimiter`'s default: ``$PYAGENT_REDIS_URL`` decides (unset or empty: in process)."""


def configured_redis_url(environ: Mapping[str, str] | None = None) -> str | None:
    """``$PYAGENT_REDIS_URL`` (``redis://host:port/db``); ``None`` when unset or empty.

    Raises:
        UserError: It is set to something that is not a ``redis://`` or ``rediss://`` URL.
    """
    url = (os.environ if environ is None else environ).get(REDIS_URL_ENV, "").strip()
    if not url:
        return None
    _checked_url(url)
    return url


def _checked_url(url: str) -> str:
    if not url.startswith(("redis://", "rediss://", "async+redis://", "async+rediss://")):
        raise UserError(f"{REDIS_URL_ENV} must be a redis://host:port/db URL (unset: in process)")
    return url


@dataclass(frozen=True, kw_only=True, slots=True)
class RateLimits:
    """How many new messages a conversation and a user may send per window.

    Attributes:
        per_conversation: Messages per window in one conversation (``None``: no limit).
        per_user: Messages per window from one user across conversations (``None``: none).
        window_seconds: The sliding window.
    """

    per_conversation: int | None = 20
    per_user: int | None = 60
    window_seconds: float = 60.0

    def __post_init__(self) -> None:
        if self.window_seconds <= 0:
            raise UserError("RateLimits.window_seconds must be positive")
        for limit in (self.per_conversation, self.per_user):
            if limit is not None and limit < 1:
                raise UserError("rate limits must be at least 1 message per window")

    def keys(self, conversation_id: str, user_id: str | None) -> list[tuple[str, str, int]]:
        """What a message counts against: (kind, id, limit) for each limit that applies."""
        keys: list[tuple[str, str, int]] = []
        if self.per_conversation is not None:
            keys.append(("conversation", conversation_id, self.per_conversation))
        if user_id is not None and self.per_user is not None:
            keys.append(("user", user_id, self.per_user))
        return keys


def _refusal(what: str, limit: int, window: float, retry_after: float) -> TooManyRequests:
    retry_after = max(retry_after, 0.0)
    return TooManyRequests(
        f"too many messages for this {what}: at most {limit} per "
        f"{window:g} s; try again in {retry_after:.0f} s",
        retry_after=retry_after,
    )


class LocalRateLimiter:
    """Counts messages per key in a sliding window, in this process.

    Args:
        limits: The limits.
        clock: Monotonic clock (injectable for tests).
    """

    def __init__(self, limits: RateLimits, *, clock: Callable[[], float] = time.monotonic):
        self.limits = limits
        self._clock = clock
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def check(self, conversation_id: str, user_id: str | None) -> None:
        """Count one message, or raise `TooManyRequests` without counting it."""
        keys = self.limits.keys(conversation_id, user_id)
        now = self._clock()
        window = self.limits.window_seconds
        with self._lock:
            for what, key, limit in keys:
                hits = self._recent(f"{what}:{key}", now - window)
                if len(hits) >= limit:
                    raise _refusal(what, limit, window, hits[0] + window - now)
            for what, key, _ in keys:
                self._hits.setdefault(f"{what}:{key}", deque()).append(now)

    def _recent(self, key: str, since: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= since:
            hits.popleft()
        if not hits:  # keep memory bounded by active keys
            del self._hits[key]
            return deque()
        return hits


class RedisRateLimiter:
    """The same sliding window, counted in Redis (the ``limits`` library's moving window).

    Errors reaching Redis propagate (`RateLimiter` decides what an outage means). The
    client is made on first use in the running event loop (and again in a new loop).

    Args:
        limits: The limits.
        url: ``redis://host:port/db`` (or ``async+redis://``).
        key_prefix: Prefix of the Redis keys (the limits are told apart by it).
        timeout: Seconds to connect and to wait for each answer.

    Raises:
        MissingDependencyError: The ``redis`` extra (``limits[async-redis]``) is missing.
        UserError: `url` is not a Redis URL.
    """

    def __init__(
        self,
        limits: RateLimits,
        url: str,
        *,
        key_prefix: str = "pyagent",
        timeout: float = 1.0,
    ) -> None:
        try:
            import coredis
            import limits as limits_library

            del coredis, limits_library  # imported here only to say which extra is missing
        except ImportError as exc:
            raise MissingDependencyError(exc.name or "limits", "redis") from exc
        url = _checked_url(url)
        self.limits = limits
        self.url = url if url.startswith("async+") else f"async+{url}"
        self.key_prefix = key_prefix
        self.timeout = timeout
        self.window = max(1, math.ceil(limits.window_seconds))  # whole seconds in Redis
        self._strategy: MovingWindowRateLimiter | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def __repr__(self) -> str:
        return "RedisRateLimiter(<url hidden>)"  # the URL may carry a password

    def _redis(self) -> MovingWindowRateLimiter:
        loop = asyncio.get_running_loop()
        if self._strategy is None or self._loop is not loop:
            from limits.aio.storage import RedisStorage
            from limits.aio.strategies import MovingWindowRateLimiter

            storage = RedisStorage(
                self.url,
                wrap_exceptions=True,
                key_prefix=self.key_prefix,
                connect_timeout=self.timeout,
                stream_timeout=self.timeout,
            )
            self._strategy, self._loop = MovingWindowRateLimiter(storage), loop
        return self._strategy

    def _item(self, limit: int) -> RateLimitItem:
        from limits import RateLimitItemPerSecond

        return RateLimitItemPerSecond(limit, self.window)

    async def check(self, conversation_id: str, user_id: str | None) -> None:
        """Count one message, or raise `TooManyRequests` without counting it.

        Both limits are tested before either is counted; two processes racing for the
        last place of a window may both pass the test, and then the one whose count
        Redis refuses is refused (having counted against the other limit).
        """
        redis = self._redis()
        keys = [
            (what, key, self._item(limit))
            for what, key, limit in self.limits.keys(conversation_id, user_id)
        ]
        tests = await asyncio.gather(*(redis.test(item, what, key) for what, key, item in keys))
        for (what, key, item), allowed in zip(keys, tests, strict=True):
            if not allowed:
                raise await self._refusal(redis, what, key, item)
        for what, key, item in keys:
            if not await redis.hit(item, what, key):
                raise await self._refusal(redis, what, key, item)

    async def _refusal(
        self, redis: MovingWindowRateLimiter, what: str, key: str, item: RateLimitItem
    ) -> TooManyRequests:
        stats = await redis.get_window_stats(item, what, key)
        return _refusal(what, item.amount, self.window, stats.reset_time - time.time())

    async def ping(self) -> bool:
        """Whether Redis answers ``PING`` within the timeout."""
        try:
            async with asyncio.timeout(self.timeout):
                return await self._redis().storage.check()
        except TimeoutError:
            return False


class RateLimiter:
    """The chat handler's rate limiter: shared through Redis when configured, else local.

    See the module docstring for what happens when Redis is down (limits fail open to
    this process's sliding window, Redis is retried after a backoff).

    Args:
        limits: The limits.
        redis_url: Redis to share the counts through; by default ``$PYAGENT_REDIS_URL``;
            ``None``: in this process only.
        clock: Monotonic clock (the local window and the backoff; injectable for tests).
        timeout: Seconds a Redis check may take before it counts as an outage.
        backoff: First and longest pause before Redis is tried again after a failure.
        key_prefix: Prefix of the Redis keys.

    Raises:
        UserError: The Redis URL is not one.
        MissingDependencyError: A Redis URL is set but the ``redis`` extra is missing.
    """

    def __init__(
        self,
        limits: RateLimits,
        *,
        redis_url: str | None | _FromEnvironment = FROM_ENVIRONMENT,
        clock: Callable[[], float] = time.monotonic,
        timeout: float = 1.0,
        backoff: tuple[float, float] = (1.0, 30.0),
        key_prefix: str = "pyagent",
    ) -> None:
        url = configured_redis_url() if redis_url is FROM_ENVIRONMENT else redis_url
        self.limits = limits
        self.local = LocalRateLimiter(limits, clock=clock)
        self.shared = (
            RedisRateLimiter(limits, url, key_prefix=key_prefix, timeout=timeout)
            if isinstance(url, str)
            else None
        )
        self.timeout = timeout
        self._clock = clock
        self._backoff = backoff
        self._pause = backoff[0]
        self._retry_at: float | None = None  # while Redis is down: when to try it again

    @property
    def degraded(self) -> bool:
        """Whether Redis is configured but down (the limits are counted in process)."""
        return self._retry_at is not None

    async def check(self, conversation_id: str, user_id: str | None) -> None:
        """Count one message, or raise `TooManyRequests` without counting it.

        Raises:
            TooManyRequests: A limit is reached (``retry_after``: seconds to wait).
        """
        if self.shared is not None and (self._retry_at is None or self._clock() >= self._retry_at):
            try:
                async with asyncio.timeout(self.timeout):
                    await self.shared.check(conversation_id, user_id)
            except TooManyRequests:
                self._recovered()
                raise
            except Exception as error:  # any failure of Redis: fail open (module docstring)
                self._failed(error)
            else:
                self._recovered()
                return
        self.local.check(conversation_id, user_id)

    async def ping(self) -> None:
        """Check Redis when it is configured (readiness); nothing to do otherwise.

        Raises:
            StoreUnavailable: Redis does not answer ``PING``.
        """
        if self.shared is not None and not await self.shared.ping():
            raise StoreUnavailable("Redis does not answer; rate limits are counted in process")

    def _failed(self, error: Exception) -> None:
        if self._retry_at is None:
            logger.warning(
                "Redis unavailable (%s: %s): rate limits are counted in this process; "
                "retrying Redis in %g s",
                type(error).__name__,
                error,
                self._pause,
            )
        else:
            logger.debug("Redis still unavailable (%s)", type(error).__name__)
        self._retry_at = self._clock() + self._pause
        self._pause = min(self._pause * 2, self._backoff[1])

    def _recovered(self) -> None:
        if self._retry_at is not None:
            logger.warning("Redis answers again: rate limits are shared again")
        self._retry_at = None
        self._pause = self._backoff[0]
