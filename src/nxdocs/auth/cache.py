"""A short-lived cache of key -> principal (who the key acts as), so polling does not
read the keys table each time.

Entries live `ttl_seconds`, so a revoked key stops working, and a change of
organization membership takes effect, within that time.
Unknown keys are cached too (as None), so a client hammering with a bad key
costs one lookup per TTL, not one per request. Keyed by the key's digest: the
cache never holds a secret.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

from nxdocs.auth.keys import KEY_PATTERN, hash_key

_MAX_ENTRIES = 10_000
T = TypeVar("T")


class KeyCache(Generic[T]):
    def __init__(
        self,
        lookup: Callable[[str], T | None],
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl = ttl_seconds
        self._monotonic = monotonic
        self._entries: OrderedDict[str, tuple[float, T | None]] = OrderedDict()
        self._lock = threading.Lock()

    def cached(self, key: str) -> tuple[bool, T | None]:
        """(hit, value): value is None for an unknown or malformed key."""
        if not KEY_PATTERN.match(key):
            return True, None
        digest = hash_key(key)
        with self._lock:
            entry = self._entries.get(digest)
        if entry is not None and entry[0] > self._monotonic():
            return True, entry[1]
        return False, None

    def load(self, key: str) -> T | None:
        """Look the key up in the database and remember the answer."""
        found = self._lookup(key)
        with self._lock:
            self._entries[hash_key(key)] = (self._monotonic() + self._ttl, found)
            while len(self._entries) > _MAX_ENTRIES:
                self._entries.popitem(last=False)
        return found
