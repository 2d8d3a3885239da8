"""One rate limiter per ServiceTitan tenant and environment, shared by every client in the process.

ServiceTitan allows 60 calls per second per (app key, tenant); several clients (sync worker,
connection test, reference-data refresh) must draw from one budget, so they share the limiter.
"""

from __future__ import annotations

import threading

from stnav_desktop.connectors.ratelimit import RateLimiter

_limiters: dict[tuple[str, str], RateLimiter] = {}
_lock = threading.Lock()


def tenant_limiter(environment: str, tenant: str, calls_per_second: int = 60) -> RateLimiter:
    """The process-wide limiter of one tenant; a later client asking for another rate changes it."""
    key = (environment, str(tenant))
    with _lock:
        limiter = _limiters.get(key)
        if limiter is None:
            limiter = _limiters[key] = RateLimiter(calls_per_second, 1.0)
        elif limiter.calls != calls_per_second:
            limiter.calls = calls_per_second
        return limiter


def reset_limiters() -> None:
    """For tests."""
    with _lock:
        _limiters.clear()
