"""Per-conversation and per-user message rate limits (sliding window, in process)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pyagent_providers import TooManyRequests, UserError

__all__ = ["RateLimiter", "RateLimits"]


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


class RateLimiter:
    """Counts messages per key in a sliding window.

    The counts live in this process: behind several server processes, put a shared
    limiter (e.g. Redis) in front, or give each process its share of the limit.

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
        keys = [(f"conversation:{conversation_id}", self.limits.per_conversation, "conversation")]
        if user_id is not None:
            keys.append((f"user:{user_id}", self.limits.per_user, "user"))
        now = self._clock()
        window = self.limits.window_seconds
        with self._lock:
            for key, limit, what in keys:
                hits = self._recent(key, now - window)
                if limit is not None and len(hits) >= limit:
                    retry_after = max(hits[0] + window - now, 0.0)
                    raise TooManyRequests(
                        f"too many messages for this {what}: at most {limit} per "
                        f"{window:g} s; try again in {retry_after:.0f} s",
                        retry_after=retry_after,
                    )
            for key, _, _ in keys:
                self._hits.setdefault(key, deque()).append(now)

    def _recent(self, key: str, since: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= since:
            hits.popleft()
        if not hits:  # keep memory bounded by active keys
            del self._hits[key]
            return deque()
        return hits
