"""Dashboard sessions: rows named by the SHA-256 of a random secret that only the cookie holds.

Signing in makes a row and hands the browser its secret (`create`); every
request finds the row again by the secret's digest (`read`); signing out
deletes it (`delete`), so a copy of the cookie taken before stops working at
once, on every node. The table keeps only the digest, as `api_keys` keeps
keys: reading the database gives no one a session. A secret is 32 random
bytes (256 bits), so a fast hash is enough and the lookup by digest is the
whole check: no comparison in Python could add anything to it.

A session acts for an API key named by its digest (`api_keys.key_hash`),
never the key itself; the dashboard looks that key up again on every request
(`KeyStore.principal_of_digest`), so revoking the key ends its sessions too.
Expired rows are refused at once and deleted later by the maintenance purge
(`purge_expired`). Times are the injected clock's milliseconds.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import asdict, dataclass
from typing import TypeGuard

import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import dashboard_sessions as sessions

SESSION_SECONDS = 8 * 3600
"""How long a sign-in lasts; signing in again starts a new session."""

_SECRET_BYTES = 32
_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
"""What `secrets.token_urlsafe(32)` makes: 43 URL-safe characters, no padding."""
_SECRET_CHARS = 43


@dataclass(frozen=True)
class DashboardSession:
    """One signed-in browser: whose key, the CSRF token its forms carry, its times (ms)."""

    key_digest: str
    csrf: str
    created_at: int
    expires_at: int


class SessionStore:
    def __init__(
        self, engine: sa.Engine, clock: Clock, *, lifetime_seconds: int = SESSION_SECONDS
    ) -> None:
        self.engine = engine
        self.reads = read_only(engine)
        self.clock = clock
        self.lifetime_ms = lifetime_seconds * 1000

    def create(self, key_digest: str) -> tuple[str, DashboardSession]:
        """A new session for the key with this digest: (the cookie's secret, the session)."""
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        now = self.clock.now_ms()
        session = DashboardSession(key_digest, secrets.token_hex(16), now, now + self.lifetime_ms)
        with self.engine.begin() as connection:
            connection.execute(sessions.insert().values(id_hash=_digest(secret), **asdict(session)))
        return secret, session

    def read(self, secret: str | None) -> DashboardSession | None:
        """The live session this secret opens; None for any other text (not even queried)."""
        if not is_secret(secret):
            return None
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(
                    sessions.c.key_digest,
                    sessions.c.csrf,
                    sessions.c.created_at,
                    sessions.c.expires_at,
                ).where(
                    sessions.c.id_hash == _digest(secret),
                    sessions.c.expires_at > self.clock.now_ms(),
                )
            ).one_or_none()
        if row is None:
            return None
        return DashboardSession(row.key_digest, row.csrf, row.created_at, row.expires_at)

    def delete(self, secret: str | None) -> bool:
        """End the session this secret opens (signing out); whether there was one."""
        if not is_secret(secret):
            return False
        with self.engine.begin() as connection:
            deleted = connection.execute(
                sessions.delete().where(sessions.c.id_hash == _digest(secret))
            )
        return deleted.rowcount == 1

    def purge_expired(self, *, batch: int = 1000, max_batches: int = 50) -> int:
        """Delete the sessions past their end; how many.

        In short transactions of `batch` rows (found by `expires_at`'s index),
        at most `max_batches` per call, like the idempotency key purge: SQLite's
        one writer is never held for long, and one maintenance round stays short.
        """
        total = 0
        for _ in range(max_batches):
            now = self.clock.now_ms()
            with self.engine.begin() as connection:
                found = (
                    connection.execute(
                        sa.select(sessions.c.id_hash)
                        .where(sessions.c.expires_at <= now)
                        .order_by(sessions.c.expires_at)
                        .limit(batch)
                    )
                    .scalars()
                    .all()
                )
                if found:
                    connection.execute(
                        sessions.delete().where(
                            sessions.c.id_hash.in_(found), sessions.c.expires_at <= now
                        )
                    )
            total += len(found)
            if len(found) < batch:
                break
        return total


def is_secret(text: str | None) -> TypeGuard[str]:
    """Whether `text` has the shape of a session secret: checked before any query, so
    nothing else (long, non-ASCII, a key, a token of the old signed form) is looked up."""
    return (
        text is not None
        and len(text) == _SECRET_CHARS
        and text.isascii()
        and _SECRET.fullmatch(text) is not None
    )


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
