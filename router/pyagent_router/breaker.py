"""A per-model circuit breaker: stop calling a failing model, probe it after a cool-down."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Literal

__all__ = ["CircuitBreaker"]

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Stops calls to a model that keeps failing, and probes it after a cool-down.

    Closed → open after `failure_threshold` consecutive failures; after
    `cooldown_seconds` one probe call is let through (half-open): success closes the
    circuit, failure opens it for another cool-down.

    Args:
        failure_threshold: Consecutive failures that open the circuit.
        cooldown_seconds: How long an open circuit refuses calls.
        clock: Monotonic clock (injectable for tests).
    """

    def __init__(
        self,
        failure_threshold: int = 5,
        cooldown_seconds: float = 30.0,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown_seconds = cooldown_seconds
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False
        self._lock = threading.Lock()

    @property
    def state(self) -> State:
        """``closed`` (calls flow), ``open`` (refused) or ``half_open`` (one probe allowed)."""
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.cooldown_seconds:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """Whether a call may go to the model now (claims the probe when half-open)."""
        with self._lock:
            state = self.state
            if state == "closed":
                return True
            if state == "half_open" and not self._probing:
                self._probing = True
                return True
            return False

    def succeeded(self) -> None:
        """Record a successful call: the circuit closes."""
        with self._lock:
            self._failures, self._opened_at, self._probing = 0, None, False

    def failed(self) -> None:
        """Record a failed call: a failed probe, or too many failures, opens the circuit."""
        with self._lock:
            self._failures += 1
            if self._probing or self._failures >= self.failure_threshold:
                self._opened_at = self._clock()
            self._probing = False
