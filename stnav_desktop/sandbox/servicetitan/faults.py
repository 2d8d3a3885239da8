"""Fault injection for the ServiceTitan simulator. Deterministic: fractions draw from a seeded RNG."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field


@dataclass
class Faults:
    latency: float = 0.0  # seconds added to every API answer
    error_rate: float = 0.0  # fraction of API calls answered with ``error_status``
    error_status: int = 503
    drop_rate: float = 0.0  # fraction of API calls whose connection is closed without an answer
    burst_429: int = 0  # the next N API calls get 429 (a "429 storm")
    retry_after: int = 1  # Retry-After seconds on injected and real 429s
    fail_next: list[int] = field(default_factory=list)  # exact statuses for the next calls (500, 429, 0=drop)
    drop_after_calls: int | None = None  # drop the connection of the Nth API call from now (1 = next)
    drop_after_write: int = 0  # the next N writes (POST/PATCH) are CARRIED OUT, then the answer is dropped
    seed: int = 11

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._lock = threading.Lock()

    def take_drop_after_write(self) -> bool:
        """True if this (successful) write's answer is to be dropped."""
        with self._lock:
            if self.drop_after_write > 0:
                self.drop_after_write -= 1
                return True
            return False

    def draw(self) -> str | int | None:
        """What to do with this API call: None (serve), "drop", or an HTTP status to answer."""
        with self._lock:
            if self.drop_after_calls is not None:
                self.drop_after_calls -= 1
                if self.drop_after_calls <= 0:
                    self.drop_after_calls = None
                    return "drop"
            if self.fail_next:
                status = self.fail_next.pop(0)
                return "drop" if status == 0 else status
            if self.burst_429 > 0:
                self.burst_429 -= 1
                return 429
            if self.drop_rate and self._rng.random() < self.drop_rate:
                return "drop"
            if self.error_rate and self._rng.random() < self.error_rate:
                return self.error_status
            return None
