"""The jobs table's filters, read leniently from a query string.

The table's form and its live refreshes send these; a value the form would
never send (a hand-edited URL) is dropped rather than refused, and the form
shows what was applied. Times are minutes in UTC as `<input
type="datetime-local">` writes them (`2026-12-04T15:30`), the page says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from nxdocs.ids import is_id
from nxdocs.jobs.model import JOB_TYPES
from nxdocs.poll.listing import JobFilter

STATUSES = ("processing", "completed", "failed")
PERIODS = {
    "15m": ("the last 15 minutes", 15 * 60_000),
    "1h": ("the last hour", 3_600_000),
    "24h": ("the last 24 hours", 86_400_000),
    "7d": ("the last 7 days", 7 * 86_400_000),
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MINUTE_TEXT_CHARS = 16  # 2026-12-04T15:30


@dataclass(frozen=True)
class JobQuery:
    status: str | None = None
    type: str | None = None
    period: str | None = None
    created_from: str | None = None
    """As the form sent it: a minute in UTC, inclusive."""
    created_to: str | None = None
    """As the form sent it: a minute in UTC, exclusive."""
    after: str | None = None
    """The last job of the page before (the table's "older" link)."""

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> JobQuery:
        status, job_type = params.get("status"), params.get("type")
        period, after = params.get("period"), params.get("after")
        return cls(
            status=status if status in STATUSES else None,
            type=job_type if job_type in JOB_TYPES else None,
            period=period if period in PERIODS else None,
            created_from=_minute_text(params.get("from")),
            created_to=_minute_text(params.get("to")),
            after=after if after is not None and is_id(after, "job") else None,
        )

    def job_filter(self, now_ms: int) -> JobFilter:
        """The listing's filter, with the period counted back from `now_ms`."""
        lower = [_ms(self.created_from) - 1] if self.created_from else []
        if self.period is not None:
            lower.append(now_ms - PERIODS[self.period][1])
        return JobFilter(
            status=self.status,
            type=self.type,
            created_after=max(lower) if lower else None,
            created_before=_ms(self.created_to) if self.created_to else None,
        )

    def query_string(self, *, after: str | None = None) -> str:
        """These filters as a query string (without "?"), on the page after `after`."""
        values = {
            "status": self.status,
            "type": self.type,
            "period": self.period,
            "from": self.created_from,
            "to": self.created_to,
            "after": after,
        }
        return urlencode({name: value for name, value in values.items() if value})


def _minute_text(value: str | None) -> str | None:
    """`value` if it is a minute the form could have sent, else None."""
    if value is None or len(value) != _MINUTE_TEXT_CHARS or not value.isascii():
        return None
    try:
        _ms(value)
    except ValueError:
        return None
    return value


def _ms(minute: str) -> int:
    moment = datetime.strptime(minute, "%Y-%m-%dT%H:%M").replace(tzinfo=UTC)
    return (moment - _EPOCH) // timedelta(milliseconds=1)
