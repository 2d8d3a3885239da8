"""Client-side rate limiting shared by every thread that talks to one tenant.

``RateLimiter`` is a token bucket (calls per period); ``ConcurrencyLimit`` caps requests in flight.
Both take an injectable clock and sleep so tests run without waiting.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class RateLimiter:
    """At most ``calls`` acquisitions in any window of ``period`` seconds (sliding window).

    A sliding log is exact where a plain token bucket lets a full bucket plus a refill through in
    one second; ServiceTitan counts calls per second, so "peak per second" must never exceed the limit.
    """

    def __init__(self, calls: int, period: float = 1.0, *,
                 clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if calls < 1 or period <= 0:
            raise ValueError("rate limit needs calls >= 1 and period > 0")
        self.calls = calls
        self.period = period
        self._clock = clock
        self._sleep = sleep
        self._stamps: list[float] = []
        self._lock = threading.Lock()
        self._penalty_until = 0.0

    def acquire(self) -> float:
        """Block until a call may be made; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                if now < self._penalty_until:
                    delay = self._penalty_until - now
                else:
                    cutoff = now - self.period
                    while self._stamps and self._stamps[0] <= cutoff:
                        self._stamps.pop(0)
                    if len(self._stamps) < self.calls:
                        self._stamps.append(now)
                        return waited
                    delay = self._stamps[0] + self.period - now
            delay = max(delay, 0.001)
            self._sleep(delay)
            waited += delay

    def penalize(self, seconds: float) -> None:
        """The server said slow down (429 with Retry-After): hold every thread back for a while."""
        with self._lock:
            self._penalty_until = max(self._penalty_until, self._clock() + max(0.0, seconds))


class ConcurrencyLimit:
    """A bounded semaphore used as a context manager (Business Central: 5 requests at once per user)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._sem = threading.BoundedSemaphore(limit)

    def __enter__(self) -> ConcurrencyLimit:
        self._sem.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self._sem.release()
