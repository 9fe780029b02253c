"""The monthly export quota: exports count per calendar month (UTC), per owner."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


class QuotaExceededError(Exception):
    """The owner has made `limit` exports since the start of the period."""


@dataclass(frozen=True)
class Quota:
    limit: int
    since_ms: int

    @classmethod
    def monthly(cls, limit: int, now_ms: int) -> Quota:
        """`limit` exports in the calendar month of `now_ms`."""
        return cls(limit, month_start_ms(now_ms))

    @property
    def resets_at_ms(self) -> int:
        return next_month_ms(self.since_ms)

    def seconds_until_reset(self, now_ms: int) -> int:
        """For `Retry-After`: at least a second."""
        return max(1, (self.resets_at_ms - now_ms) // 1000)


def month_start_ms(now_ms: int) -> int:
    """Midnight UTC on the first day of `now_ms`'s month."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)


def next_month_ms(month_start: int) -> int:
    start = datetime.fromtimestamp(month_start / 1000, tz=UTC)
    following = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return int(following.timestamp() * 1000)
