"""Per-owner request rate limits: a token bucket per owner, in each API process.

Each process enforces the limit on its own, so N API nodes admit up to N
times the rate; that bounds abuse without a shared store on the hot path.
Runs on the event loop thread only, so it needs no lock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

_MAX_OWNERS = 100_000


class RateLimiter:
    def __init__(
        self, per_second: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_second
        self.burst = float(burst)
        self._monotonic = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, owner_id: str) -> int:
        """0 if the request may go ahead (and a token is spent), else seconds to wait."""
        now = self._monotonic()
        tokens, stamp = self._buckets.pop(owner_id, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens >= 1:
            self._remember(owner_id, tokens - 1, now)
            return 0
        self._remember(owner_id, tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))

    def _remember(self, owner_id: str, tokens: float, now: float) -> None:
        self._buckets[owner_id] = (tokens, now)
        if len(self._buckets) > _MAX_OWNERS:
            self._buckets.popitem(last=False)
