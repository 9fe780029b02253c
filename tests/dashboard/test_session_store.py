"""`SessionStore` (the dashboard's session rows) on SQLite and PostgreSQL, time moved by hand."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from nxdocs.auth.sessions import SESSION_SECONDS, SessionStore
from nxdocs.db.schema import dashboard_sessions
from nxdocs.system import System
from tests.support.clock import ManualClock

DIGEST = "ab" * 32


def rows(system: System) -> list[dict[str, Any]]:
    with system.engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(sa.select(dashboard_sessions))]


@contextmanager
def statements(system: System) -> Iterator[list[str]]:
    """The SQL statements the engine sends while the block runs."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(args[2])

    sa.event.listen(system.engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        sa.event.remove(system.engine, "before_cursor_execute", record)


def test_a_session_reads_back_by_its_secret_until_it_expires(
    system: System, clock: ManualClock
) -> None:
    store = system.dashboard_sessions
    secret, session = store.create(DIGEST)

    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", secret)
    assert re.fullmatch(r"[0-9a-f]{32}", session.csrf)
    assert (session.key_digest, session.created_at) == (DIGEST, clock.now_ms())
    assert session.expires_at == clock.now_ms() + SESSION_SECONDS * 1000
    assert store.read(secret) == session
    # The database holds the secret's digest, never the secret.
    [row] = rows(system)
    assert row["id_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in row.values()
    clock.advance(SESSION_SECONDS - 1)
    assert store.read(secret) == session
    clock.advance(1)  # its end: refused from that millisecond on
    assert store.read(secret) is None


def test_sessions_are_apart_and_anything_else_is_no_session(system: System) -> None:
    store = system.dashboard_sessions
    first, session = store.create(DIGEST)
    second, other = store.create("cd" * 32)
    assert first != second
    assert session.csrf != other.csrf
    assert store.read(second) == other

    unknown = first[:-1] + ("A" if first[-1] != "A" else "B")
    assert store.read(unknown) is None
    malformed = [
        None,
        "",
        first + "A",
        first[1:],
        first.replace(first[0], "é", 1),
        first[:-1] + "=",
        first[:-1] + ".",
        hashlib.sha256(first.encode()).hexdigest(),  # the stored digest opens nothing
        "x" * 10_000,
    ]
    with statements(system) as sent:
        assert [store.read(text) for text in malformed] == [None] * len(malformed)
        assert [store.delete(text) for text in malformed] == [False] * len(malformed)
    assert sent == []  # refused by shape, before any query
    assert len(rows(system)) == 2


def test_deleting_a_session_ends_it_and_only_it(system: System) -> None:
    store = system.dashboard_sessions
    gone, _ = store.create(DIGEST)
    kept, session = store.create(DIGEST)

    assert store.delete(gone)
    assert store.read(gone) is None
    assert not store.delete(gone)
    assert store.read(kept) == session


def test_the_purge_deletes_only_expired_sessions(system: System, clock: ManualClock) -> None:
    store = system.dashboard_sessions
    early, _ = store.create(DIGEST)
    clock.advance(3600)
    late, session = store.create(DIGEST)
    assert store.purge_expired() == 0
    clock.advance(SESSION_SECONDS - 3600 - 1)  # a second before the early one's end
    assert store.purge_expired() == 0
    clock.advance(1)

    assert store.read(early) is None  # refused at once, purged or not
    assert store.purge_expired() == 1
    assert [row["expires_at"] for row in rows(system)] == [session.expires_at]
    assert store.read(late) == session
    clock.advance(3600)
    assert store.purge_expired() == 1
    assert rows(system) == []


def test_the_purge_works_in_batches_and_stops_after_its_round(
    system: System, clock: ManualClock
) -> None:
    store = SessionStore(system.engine, clock, lifetime_seconds=60)
    for _ in range(5):
        store.create(DIGEST)
    clock.advance(60)

    assert store.purge_expired(batch=2, max_batches=2) == 4
    assert len(rows(system)) == 1
    assert store.purge_expired(batch=2, max_batches=2) == 1
    assert rows(system) == []
