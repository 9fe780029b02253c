"""Leadership of a role among workers: a lease in a row, on the database's clock.

Periodic maintenance (lease recovery, retention, the file purge) must run in
one worker at a time across all nodes. The holder renews a lease in the
`leaders` row before each round; any other worker takes the role over once
that lease has expired, so a crashed or stalled leader is replaced within
one lease. A row, rather than PostgreSQL's session advisory locks, because a
paused process keeps its session, and with it an advisory lock, forever;
and the same statement serves SQLite, where several processes share a file.
"""

from __future__ import annotations

import sqlalchemy as sa

from nxdocs.db.schema import leaders

MAINTENANCE = "maintenance"


class Leadership:
    def __init__(
        self, engine: sa.Engine, now_sql: str, holder: str, *, lease_seconds: float, role: str
    ) -> None:
        self.engine = engine
        self.holder = holder
        self.lease_ms = int(lease_seconds * 1000)
        self.role = role
        self._now = sa.literal_column(f"({now_sql})", sa.BigInteger)

    def hold(self) -> bool:
        """Renew the role if this holder has it, take it if its lease has expired;
        True if this holder leads until the new expiry."""
        row = leaders.c
        with self.engine.begin() as connection:
            taken = connection.execute(
                leaders.update()
                .where(
                    row.role == self.role,
                    sa.or_(row.holder == self.holder, row.expires_at < self._now),
                )
                .values(
                    holder=self.holder,
                    expires_at=self._now + self.lease_ms,
                    since=sa.case((row.holder == self.holder, row.since), else_=self._now),
                )
            )
        return taken.rowcount == 1

    def resign(self) -> None:
        """Give the role up at once (a clean shutdown), so another worker need not wait."""
        with self.engine.begin() as connection:
            connection.execute(
                leaders.update()
                .where(leaders.c.role == self.role, leaders.c.holder == self.holder)
                .values(holder=None, expires_at=0)
            )

    def holder_now(self) -> str | None:
        """Who holds the role, if its lease has not expired."""
        with self.engine.connect() as connection:
            return connection.execute(
                sa.select(leaders.c.holder).where(
                    leaders.c.role == self.role, leaders.c.expires_at >= self._now
                )
            ).scalar_one_or_none()
