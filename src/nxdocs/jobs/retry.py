"""The retry decision: a pure value, computed before anything is written."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryIn:
    """Run again `delay_ms` after now, on the database's clock (the store adds it)."""

    delay_ms: int


@dataclass(frozen=True, slots=True)
class GiveUp:
    pass


RetryDecision = RetryIn | GiveUp


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with full jitter, capped, over a bounded number of attempts.

    Full jitter (a uniform delay between zero and the exponential bound)
    spreads retries of jobs that failed together, e.g. on an upstream outage,
    so they do not come back as one wave.
    """

    base_seconds: float
    max_seconds: float

    def decide(self, *, attempt: int, max_attempts: int, rng: random.Random) -> RetryDecision:
        if attempt >= max_attempts:
            return GiveUp()
        bound = min(self.max_seconds, self.base_seconds * 2 ** (attempt - 1))
        return RetryIn(int(rng.uniform(0, bound) * 1000))
