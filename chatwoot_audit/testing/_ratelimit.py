"""Rack::Attack's throttle: a fixed window aligned on multiples of its length, and a clock to drive it.

Rack::Attack counts requests under a key that includes ``floor(now / period)``, so windows start at
multiples of the period, not at the first request; every request counts, throttled ones included.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Clock = Callable[[], float]


class ManualClock:
    """A clock that only moves when told to: pass ``clock=ManualClock()`` and call ``advance``."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds


class RateLimiter:
    """At most ``limit`` requests per window of ``window`` seconds (not thread-safe: callers lock)."""

    def __init__(self, limit: int | None, window: float, clock: Clock = time.time) -> None:
        if limit is not None and limit < 0:
            raise ValueError("rate_limit must be at least 0")
        if window <= 0:
            raise ValueError("rate_window must be positive")
        self.limit = limit
        self.window = window
        self._clock = clock
        self._bucket: int | None = None
        self._count = 0

    def allow(self) -> bool:
        """Count one request; ``False`` when it is over the limit of the current window."""
        if self.limit is None:
            return True
        bucket = int(self._clock() // self.window)
        if bucket != self._bucket:
            self._bucket, self._count = bucket, 0
        self._count += 1
        return self._count <= self.limit
