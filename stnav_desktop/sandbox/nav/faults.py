"""Fault injection for the NAV simulator: latency, error statuses, dropped connections (before the
work, or AFTER the write committed so the client never sees the answer)."""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass


@dataclass
class Fault:
    kind: str  # "status" | "drop_before" | "drop_after" | "latency"
    method: str | None = None
    path_contains: str | None = None
    times: int = 1  # -1 = forever
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return not (self.path_contains and self.path_contains not in path)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency = 0.0  # seconds added to every API request
        self.error_rate = 0.0  # fraction of API requests answered with ``error_status`` (seeded, repeatable)
        self.error_status = 503
        self._rng = random.Random(17)
        self.injected = 0  # how many random errors were answered

    def add(self, kind: str, **kw: object) -> Fault:
        fault = Fault(kind, **kw)  # type: ignore[arg-type]
        with self._lock:
            self._faults.append(fault)
        return fault

    def fail(self, status: int = 503, *, times: int = 1, retry_after: str | None = None, method: str | None = None,
             path_contains: str | None = None) -> Fault:
        return self.add("status", status=status, times=times, retry_after=retry_after, method=method,
                        path_contains=path_contains)

    def drop_after_commit(self, *, method: str | None = "POST", path_contains: str | None = None,
                          times: int = 1) -> Fault:
        return self.add("drop_after", method=method, path_contains=path_contains, times=times)

    def drop_before(self, *, method: str | None = None, path_contains: str | None = None, times: int = 1) -> Fault:
        return self.add("drop_before", method=method, path_contains=path_contains, times=times)

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()
            self.latency = 0.0
            self.error_rate = 0.0

    def take(self, method: str, path: str) -> list[Fault]:
        """The faults that apply to this request (each use counts)."""
        out = []
        with self._lock:
            for f in list(self._faults):
                if f.matches(method, path) and f.times != 0:
                    f.hits += 1
                    if f.times > 0:
                        f.times -= 1
                    out.append(f)
            if self.error_rate and self._rng.random() < self.error_rate:
                self.injected += 1
                out.append(Fault("status", status=self.error_status, hits=1))
        return out
