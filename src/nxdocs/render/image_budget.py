"""`ImageBudget`: how much fetching images one export may do, and its running tally.

Image URLs come from untrusted documents, so without a bound a document of
ten thousand images, each on a server that trickles one byte a second, would
hold a worker for days. One budget covers one export (one `HttpImageLoader`):

    max_images         100      distinct fetched sources (`data:` URIs are not
                                fetched and do not count; the document's own
                                size bounds them)
    max_total_bytes    50 MB    bytes downloaded, failed images included
    max_total_seconds  60 s     from the export's first fetch to its last
    max_concurrent     4        fetches in flight at once

The defaults leave room for a large deck (a hundred pictures of up to 10 MB
each would not fit, fifty half-megabyte photos do) while keeping an export's
image work to about a minute and its downloaded images to about the memory
the PDF engine needs anyway. Four fetches at once hide network latency
without letting one export take many connections from a shared machine.

Past the budget an image is drawn as its alt text, as a broken image is: one
oversized or slow image should not cost the client the whole export, and the
export still finishes in bounded time. (Failing the job with RENDER_FAILED
was the alternative; it would turn a cosmetic loss into a lost file.) Once
any limit is reached the budget is spent: every later image is refused
without touching the network, so the rest of the render is quick.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

Clock = Callable[[], float]
"""Monotonic seconds; `time.monotonic` outside tests."""


@dataclass(frozen=True)
class ImageBudget:
    """The limits of one export's image fetching (see the module docstring)."""

    max_images: int = 100
    max_total_bytes: int = 50_000_000
    max_total_seconds: float = 60.0
    max_concurrent: int = 4

    def __post_init__(self) -> None:
        if self.max_images < 0 or self.max_total_bytes < 0 or self.max_total_seconds < 0:
            raise ValueError("image budget limits cannot be negative")
        if self.max_concurrent < 1:
            raise ValueError("at least one image fetch must be allowed at a time")


DEFAULT_IMAGE_BUDGET = ImageBudget()


class ImageSpending:
    """What one export has spent of its budget; safe to use from several threads.

    The seconds start at the first `start_image()`, not at construction, so a
    loader built early does not lose time it never used. Reaching any limit
    spends the budget: no image starts after that. Images already started go
    on while their own bytes and the deadline allow.
    """

    def __init__(self, budget: ImageBudget, clock: Clock = time.monotonic) -> None:
        self._budget = budget
        self._clock = clock
        self._lock = threading.Lock()
        self._images = 0
        self._bytes = 0
        self._deadline: float | None = None
        self._spent = False

    @property
    def spent(self) -> bool:
        with self._lock:
            return self._spent

    def start_image(self) -> bool:
        """Count one more image; False when the budget is spent or this one is past it."""
        with self._lock:
            if self._deadline is None:
                self._deadline = self._clock() + self._budget.max_total_seconds
            self._images += 1
            if self._images > self._budget.max_images or self._clock() >= self._deadline:
                self._spent = True
            return not self._spent

    def take_bytes(self, count: int) -> bool:
        """Count `count` downloaded bytes; False when the total goes past the limit."""
        with self._lock:
            self._bytes += count
            return self._within_bytes(0)

    def fits(self, count: int) -> bool:
        """Whether `count` more bytes fit (a declared Content-Length, before reading)."""
        with self._lock:
            return self._within_bytes(count)

    def seconds_left(self) -> float:
        """Seconds until the deadline; 0 once it has passed, which spends the budget."""
        with self._lock:
            if self._deadline is None:
                return self._budget.max_total_seconds
            left = self._deadline - self._clock()
            if left <= 0:
                self._spent = True
            return max(left, 0.0)

    def _within_bytes(self, more: int) -> bool:
        if self._bytes + more > self._budget.max_total_bytes:
            self._spent = True
        return self._bytes + more <= self._budget.max_total_bytes
