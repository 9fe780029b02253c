"""The `idempotency_keys` table: claiming a key, recording what it created, saving its answer.

Concurrent requests with one key are told apart by the table's primary key
(owner, key): each tries `INSERT ... ON CONFLICT DO NOTHING`, and exactly one
insert lands; the others read the row and get its outcome (`model.decide`).
Nothing is checked and then inserted.

The holder's `locked_until` is also its fencing token. Every later write of
the holder (recording what it created, saving its response, releasing the
key) is conditional on the row still carrying that value. A request that
outlives its lock may be taken over (a conditional UPDATE from the value it
saw, so of several takers one wins); the taker's new `locked_until` is
larger, and the old holder's writes change nothing. In particular its
create, which records the new resource on the key inside its own
transaction, is rolled back (`KeyTakenOverError`): a key never makes two jobs.

Times are the injected clock's milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from nxdocs.clock import Clock
from nxdocs.db.backend import Backend
from nxdocs.db.engine import read_only
from nxdocs.db.schema import idempotency_keys as keys
from nxdocs.idempotency.model import (
    Claim,
    Created,
    Held,
    InProgress,
    KeyRow,
    Replace,
    TakeOver,
    decide,
)

LOCK_MARGIN_SECONDS = 30.0
"""How long a request may hold its key beyond the wait it is allowed
(`sync_wait_seconds`): its own statements, parsing and rendering, with room for
a slow database. Past it, the request is taken for dead and its key taken over."""

_TRIES = 5
"""Rounds of insert-or-read a claim makes while other requests change the row
under it (released, replaced, taken over); then it answers "in progress"."""

OnCreated = Callable[[sa.Connection, str, str], None]
"""Run by a resource store inside its create transaction with (connection,
resource id, job id); raising rolls the create back."""


class KeyTakenOverError(Exception):
    """The request held its key past its lock, and another request took the key
    over before this one could record what it created; the create is rolled back."""


class IdempotencyStore:
    def __init__(
        self,
        engine: sa.Engine,
        clock: Clock,
        backend: Backend,
        *,
        lifetime_seconds: int,
        wait_seconds: float,
    ) -> None:
        """`lifetime_seconds`: how long a key replays its first answer;
        `wait_seconds`: the longest a request may wait for its work."""
        self.engine = engine
        self.reads = read_only(engine)
        self.clock = clock
        self.lifetime_ms = lifetime_seconds * 1000
        self.lock_ms = round((wait_seconds + LOCK_MARGIN_SECONDS) * 1000)
        self._insert = sqlite.insert if backend is Backend.SQLITE else postgresql.insert

    def claim(self, owner_id: str, key: str, fingerprint: str) -> Claim:
        """Hold the key for this request, or say why not (replay, reused, in progress)."""
        for _ in range(_TRIES):
            claimed = self._try_claim(owner_id, key, fingerprint)
            if claimed is not None:
                return claimed
        return InProgress()

    def recorder(self, owner_id: str, key: str, token: int) -> OnCreated:
        """What a resource store runs in its create transaction: the resource and its
        job recorded on the key, or `KeyTakenOverError` (rolling the create back)."""

        def record(connection: sa.Connection, resource_id: str, job_id: str) -> None:
            recorded = connection.execute(
                keys.update()
                .where(_held_by(owner_id, key, token))
                .values(resource_id=resource_id, job_id=job_id)
            )
            if recorded.rowcount != 1:
                raise KeyTakenOverError(key)

        return record

    def save(self, owner_id: str, key: str, token: int, status: int, body: bytes) -> bool:
        """Keep the response to replay; False if the key is no longer this holder's."""
        with self.engine.begin() as connection:
            saved = connection.execute(
                keys.update()
                .where(_held_by(owner_id, key, token))
                .values(response_status=status, response_body=body, locked_until=None)
            )
        return saved.rowcount == 1

    def release(self, owner_id: str, key: str, token: int) -> None:
        """Let the key be used again at once, if it is still this holder's.

        A key that created nothing is deleted, so the same key may carry any
        request next. One whose resource was already created (the request
        failed after its create committed) stays bound to its request, unlocked:
        the next request with it takes it over and answers with that resource
        instead of creating a second one.
        """
        with self.engine.begin() as connection:
            deleted = connection.execute(
                keys.delete().where(_held_by(owner_id, key, token), keys.c.resource_id.is_(None))
            )
            if deleted.rowcount == 0:
                connection.execute(
                    keys.update()
                    .where(_held_by(owner_id, key, token))
                    .values(locked_until=self.clock.now_ms())
                )

    def purge_expired(self, *, batch: int = 1000, max_batches: int = 50) -> int:
        """Delete the keys past their lifetime that nobody holds; how many.

        In short transactions of `batch` keys (found by `expires_at`'s index),
        at most `max_batches` per call, like job retention: SQLite's one writer
        is never held for long, and one maintenance round stays short.
        """
        total = 0
        for _ in range(max_batches):
            now = self.clock.now_ms()
            with self.engine.begin() as connection:
                found = connection.execute(
                    sa.select(keys.c.owner_id, keys.c.key)
                    .where(_expired(now))
                    .order_by(keys.c.expires_at)
                    .limit(batch)
                ).all()
                if found:
                    connection.execute(
                        keys.delete().where(
                            sa.tuple_(keys.c.owner_id, keys.c.key).in_(
                                [tuple(row) for row in found]
                            ),
                            _expired(now),
                        )
                    )
            total += len(found)
            if len(found) < batch:
                break
        return total

    def get(self, owner_id: str, key: str) -> KeyRow | None:
        with self.reads.connect() as connection:
            return _row(connection, owner_id, key)

    # -- claiming -------------------------------------------------------------

    def _try_claim(self, owner_id: str, key: str, fingerprint: str) -> Claim | None:
        """One round: insert the key, or act on the row that is there. None when the
        row changed under this round (try again)."""
        now = self.clock.now_ms()
        token = now + self.lock_ms
        with self.engine.begin() as connection:
            inserted = connection.execute(
                self._insert(keys)
                .values(
                    owner_id=owner_id,
                    key=key,
                    **_fresh(fingerprint, now, token, self.lifetime_ms),
                )
                .on_conflict_do_nothing(index_elements=[keys.c.owner_id, keys.c.key])
                # What was inserted, if anything (an insert's rowcount is -1 on psycopg).
                .returning(keys.c.key)
            ).first()
            if inserted is not None:
                return Held(token, None)
            row = _row(connection, owner_id, key)
            if row is None:
                return None  # released since the insert conflicted
            decision = decide(row, fingerprint, now)
            if isinstance(decision, Replace):
                return self._replace(connection, (owner_id, key), fingerprint, now, token)
            if isinstance(decision, TakeOver):
                return _take_over(connection, owner_id, key, decision.seen, token)
            return decision

    def _replace(
        self,
        connection: sa.Connection,
        owner_key: tuple[str, str],
        fingerprint: str,
        now: int,
        token: int,
    ) -> Held | None:
        """Overwrite an expired row as a new key; None if another request did first."""
        owner_id, key = owner_key
        replaced = connection.execute(
            keys.update()
            .where(keys.c.owner_id == owner_id, keys.c.key == key, _expired(now))
            .values(**_fresh(fingerprint, now, token, self.lifetime_ms))
        )
        return Held(token, None) if replaced.rowcount == 1 else None


def _take_over(
    connection: sa.Connection, owner_id: str, key: str, seen: int | None, token: int
) -> Held | None:
    """Hold a key whose holder's lock ran out, if its lock is still the one seen.

    On PostgreSQL, an UPDATE that meets a concurrent writer of the row waits for
    it and then re-checks its WHERE on the row as committed: of several takers,
    the first changes `locked_until` and the others match nothing. What the old
    holder recorded before (its resource) comes back with the row.
    """
    lock = keys.c.locked_until.is_(None) if seen is None else keys.c.locked_until == seen
    taken = connection.execute(
        keys.update()
        .where(
            keys.c.owner_id == owner_id,
            keys.c.key == key,
            keys.c.response_status.is_(None),
            lock,
        )
        .values(locked_until=token)
        .returning(keys.c.resource_id, keys.c.job_id)
    ).one_or_none()
    if taken is None:
        return None
    resource_id, job_id = taken
    created = Created(resource_id, job_id) if resource_id and job_id else None
    return Held(token, created)


def _fresh(fingerprint: str, now: int, token: int, lifetime_ms: int) -> dict[str, Any]:
    """The columns of a key first used now."""
    return {
        "fingerprint": fingerprint,
        "locked_until": token,
        "resource_id": None,
        "job_id": None,
        "response_status": None,
        "response_body": None,
        "created_at": now,
        "expires_at": now + lifetime_ms,
    }


def _held_by(owner_id: str, key: str, token: int) -> sa.ColumnElement[bool]:
    """The row, while the request holding `token` still holds it (the fence)."""
    return sa.and_(
        keys.c.owner_id == owner_id,
        keys.c.key == key,
        keys.c.locked_until == token,
        keys.c.response_status.is_(None),
    )


def _expired(now: int) -> sa.ColumnElement[bool]:
    """`KeyRow.expired` in SQL: past its lifetime, and nobody's lock running."""
    return sa.and_(
        keys.c.expires_at <= now,
        sa.or_(
            keys.c.response_status.is_not(None),
            keys.c.locked_until.is_(None),
            keys.c.locked_until <= now,
        ),
    )


def _row(connection: sa.Connection, owner_id: str, key: str) -> KeyRow | None:
    row = connection.execute(
        sa.select(keys).where(keys.c.owner_id == owner_id, keys.c.key == key)
    ).one_or_none()
    if row is None:
        return None
    found = row._mapping
    resource_id, job_id = found["resource_id"], found["job_id"]
    return KeyRow(
        fingerprint=found["fingerprint"],
        locked_until=found["locked_until"],
        created=Created(resource_id, job_id) if resource_id and job_id else None,
        response_status=found["response_status"],
        response_body=found["response_body"],
        expires_at=found["expires_at"],
    )
