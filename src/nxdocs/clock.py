"""Time as integer milliseconds since the Unix epoch, with an injectable clock.

Lease expiry and backoff read the clock through `Clock`, so tests move time
without waiting. Storing milliseconds as integers keeps SQLite and PostgreSQL
identical and makes the contract's millisecond timestamps exact.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from functools import lru_cache
from typing import Protocol


class Clock(Protocol):
    def now_ms(self) -> int: ...


class SystemClock:
    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


def format_timestamp(ms: int) -> str:
    """`2026-01-15T10:30:00.000Z`: UTC, milliseconds, `Z`, as the contract shows."""
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    # Memoised: a job's two timestamps, and jobs made together, share seconds,
    # and datetime formatting is the poll path's largest single cost.
    return f"{datetime.fromtimestamp(seconds, tz=UTC):%Y-%m-%dT%H:%M:%S}"
