"""How many requests may wait on jobs at once (long-polls and event streams), per
process and per owner.

A wait holds no database connection, but it does hold a socket and a little
memory for as long as it lasts, so one owner could otherwise open waits until
the process runs out of file descriptors and starve every other owner's.
"""

from __future__ import annotations

import threading
from collections import Counter


class TooManyWaitsError(Exception):
    """The owner, or the process, has as many waits open as it may."""


class WaitSlot:
    """One wait's place; `release` is idempotent, so every way a wait can end may call it."""

    def __init__(self, slots: WaitSlots, owner_id: str) -> None:
        self._slots = slots
        self._owner_id = owner_id
        self._held = True

    def release(self) -> None:
        if self._held:
            self._held = False
            self._slots._give_back(self._owner_id)

    def __enter__(self) -> WaitSlot:
        return self

    def __exit__(self, *_: object) -> None:
        self.release()


class WaitSlots:
    def __init__(self, max_total: int, max_per_owner: int) -> None:
        self.max_total = max_total
        self.max_per_owner = max_per_owner
        self._per_owner: Counter[str] = Counter()
        self._total = 0
        self._lock = threading.Lock()

    def take(self, owner_id: str) -> WaitSlot:
        """A slot for one more wait of `owner_id`; raises `TooManyWaitsError` if none is free."""
        with self._lock:
            if self._total >= self.max_total or self._per_owner[owner_id] >= self.max_per_owner:
                raise TooManyWaitsError
            self._total += 1
            self._per_owner[owner_id] += 1
        return WaitSlot(self, owner_id)

    def _give_back(self, owner_id: str) -> None:
        with self._lock:
            self._total -= 1
            self._per_owner[owner_id] -= 1
            if not self._per_owner[owner_id]:
                del self._per_owner[owner_id]

    @property
    def in_use(self) -> int:
        with self._lock:
            return self._total
