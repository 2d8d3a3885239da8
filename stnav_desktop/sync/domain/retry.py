"""Retry timing for failed postings: exponential backoff with jitter and a cap."""

from __future__ import annotations

import random
from datetime import datetime, timedelta


def backoff_seconds(attempt: int, *, base: float, cap: float, rng: random.Random | None = None) -> float:
    """Delay before retry number ``attempt`` (1-based): base·2^(attempt-1), capped, with "equal jitter"
    (between half and all of it) so many failed documents do not retry in lock-step."""
    uniform = rng.uniform if rng is not None else random.uniform
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling / 2 + uniform(0, ceiling / 2)


def next_retry_at(now: datetime, attempt: int, *, base: float, cap: float,
                  rng: random.Random | None = None) -> datetime:
    if now.tzinfo is None:
        raise ValueError("naive datetime")
    return now + timedelta(seconds=backoff_seconds(attempt, base=base, cap=cap, rng=rng))
