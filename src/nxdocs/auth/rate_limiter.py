"""Request rate limits: a token bucket per name, in each process.

The API keeps one bucket per owner (`nxdocs.api.auth`), the dashboard's
sign-in form one per client address (`nxdocs.dashboard.sign_in`). Each process
enforces its limits on its own, so N API nodes admit up to N times the rate;
that bounds abuse without a shared store on the hot path. Not thread-safe:
callers use it from the event loop thread only, so it needs no lock.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

_MAX_BUCKETS = 100_000
"""Buckets kept; past it the least recently used is forgotten (it starts full again)."""


class RateLimiter:
    def __init__(
        self, per_second: float, burst: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = per_second
        self.burst = float(burst)
        self._monotonic = monotonic
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def retry_after(self, name: str) -> int:
        """0 if `name`'s request may go ahead (and a token is spent), else seconds to wait."""
        now = self._monotonic()
        tokens, stamp = self._buckets.pop(name, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens >= 1:
            self._remember(name, tokens - 1, now)
            return 0
        self._remember(name, tokens, now)
        return max(1, math.ceil((1 - tokens) / self.rate))

    def _remember(self, name: str, tokens: float, now: float) -> None:
        self._buckets[name] = (tokens, now)
        if len(self._buckets) > _MAX_BUCKETS:
            self._buckets.popitem(last=False)
