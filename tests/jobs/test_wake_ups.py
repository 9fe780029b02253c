"""PostgreSQL wake-ups on the queue's hot path, against the real server.

New jobs are announced at most once per window per process (`WakeThrottle`),
and the throttled ones by a trailing notification sent only after their
transaction has ended; a batch of completions notifies from its own UPDATE,
at most 100 ids per notification. The statements `submit` hands to psycopg
directly raise SQLAlchemy's errors, as every other path does.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from nxdocs.db.driver import execute_prepared
from nxdocs.ids import new_id
from nxdocs.jobs import notify_postgres
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.jobs.wake_throttle import WakeThrottle
from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.faults import RecordingHandler
from tests.support.jobs import enqueue, wait_succeeded, woken_worker
from tests.support.waiting import wait_until

# LISTEN/NOTIFY is PostgreSQL's: every test here runs on it alone.
pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)

WORKER = "worker-a"


@pytest.fixture
def postgres(settings: Settings) -> Settings:
    return settings


def _listener(settings: Settings, channel: str) -> psycopg.Connection[tuple[object, ...]]:
    url = settings.database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    connection = psycopg.connect(url, autocommit=True)
    connection.execute(f"LISTEN {channel}")
    return connection


def _received(listener: psycopg.Connection[tuple[object, ...]], seconds: float) -> list[str]:
    """The payloads that arrive within `seconds` (all of them, not only the first)."""
    return [note.payload for note in listener.notifies(timeout=seconds)]


@pytest.fixture
def throttled(postgres: Settings) -> Iterator[tuple[sa.Engine, str, list[float]]]:
    """An engine, a channel of this test's own (notifications are database-wide,
    and tests run side by side), and the times the throttle sent on it."""
    engine = sa.create_engine(postgres.database_url)
    channel = f"wake_{uuid.uuid4().hex[:12]}"
    yield engine, channel, []
    engine.dispose()


def _throttle(engine: sa.Engine, channel: str, sent: list[float], window: float) -> WakeThrottle:
    def send(connection: sa.Connection) -> None:
        sent.append(time.monotonic())
        connection.exec_driver_sql(f"NOTIFY {channel}")

    return WakeThrottle(engine, send, window)


def test_a_burst_is_announced_once_then_once_more_after_its_window(
    postgres: Settings, throttled: tuple[sa.Engine, str, list[float]]
) -> None:
    engine, channel, sent = throttled
    throttle = _throttle(engine, channel, sent, window=1.0)
    listener = _listener(postgres, channel)
    try:
        started = time.monotonic()
        for _ in range(20):
            with engine.begin() as connection:
                throttle.announce(connection)
        elapsed = time.monotonic() - started
        wait_until(lambda: len(sent) >= 2, timeout=30)
        notes = _received(listener, 2.0)
    finally:
        throttle.stop()
        listener.close()
    # The first in its window went out in its transaction; the rest wait for
    # the trailing one, never sooner than a window after the first.
    assert len(notes) == len(sent)
    assert 2 <= len(sent) <= 2 + math.ceil(elapsed / 1.0)
    assert sent[1] - sent[0] >= 1.0


def test_a_throttled_announcement_waits_for_its_transaction_to_end(
    postgres: Settings, throttled: tuple[sa.Engine, str, list[float]]
) -> None:
    engine, channel, sent = throttled
    throttle = _throttle(engine, channel, sent, window=2.0)
    listener = _listener(postgres, channel)
    try:
        with engine.begin() as connection:
            throttle.announce(connection)  # the window's first: sent in the transaction
        with engine.begin() as connection:
            throttle.announce(connection)
            throttle.announce(connection)  # twice in one transaction: one request
            assert len(sent) == 1
            # The window passes, but these jobs are not committed yet: a wake-up
            # now would find nothing, so none may come until the commit.
            assert len(_received(listener, 2.5)) == 1  # the first transaction's
        wait_until(lambda: len(sent) == 2, timeout=30)
        assert len(_received(listener, 1.0)) == 1
    finally:
        throttle.stop()
        listener.close()


def test_a_job_submitted_within_the_window_still_wakes_the_worker(
    postgres: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A window far longer than the worker's reaction, a poll far longer than
    # the test: the second job is throttled, and only the trailing wake-up
    # can start it in time.
    monkeypatch.setattr(notify_postgres, "_WAKE_WINDOW_SECONDS", 2.0)
    with woken_worker(postgres) as (system, owner):
        for _ in range(2):
            job = NewJob(new_id("job"), owner, ARTIFACT_CREATE, {})
            system.store.submit(job, max_attempts=3)
            wait_succeeded(system, owner, job.id)


def test_a_batch_of_completions_notifies_every_id_at_most_100_per_notification(
    postgres: Settings,
) -> None:
    system = build_system(postgres)
    system.registry.register(RecordingHandler(ARTIFACT_CREATE))  # no artifact behind the jobs
    listener = _listener(postgres, notify_postgres.CHANNEL)
    try:
        owner = system.keys.create("batch").owner_id
        for _ in range(150):
            enqueue(system, owner)
        claimed = system.store.claim(WORKER, 150, 30.0)
        written = system.store.complete_many(WORKER, [(job, {}) for job in claimed])
        assert len(written) == 150
        mine = {job.id for job in claimed}
        heard: list[list[str]] = []

        def all_heard() -> bool:
            for payload in _received(listener, 0.2):
                ids = payload.split(",") if payload else []
                if mine.intersection(ids):  # other tests' notifications share the channel
                    heard.append(ids)
            return sum(len(ids) for ids in heard) >= len(mine)

        wait_until(all_heard, timeout=30)
    finally:
        listener.close()
        system.close()
    assert {job_id for ids in heard for job_id in ids} == mine
    assert all(len(ids) <= 100 for ids in heard)


def test_submit_raises_sqlalchemy_errors_and_recovers_from_a_dropped_connection(
    postgres: Settings,
) -> None:
    # Without a cap on active jobs, `submit` is the one statement psycopg runs.
    system = build_system(postgres.model_copy(update={"max_active_jobs_per_owner": 0}))
    try:
        owner = system.keys.create("driver").owner_id
        job = NewJob(new_id("job"), owner, ARTIFACT_CREATE, {})
        system.store.submit(job, max_attempts=3)
        with pytest.raises(sa.exc.IntegrityError):
            system.store.submit(job, max_attempts=3)  # the same id again
        # The server drops a connection in use: the statement's error is
        # SQLAlchemy's, and the connection is invalidated, not handed out again.
        with system.engine.connect() as connection:
            pid = connection.exec_driver_sql("SELECT pg_backend_pid()").scalar_one()
            with psycopg.connect(
                postgres.database_url.replace("postgresql+psycopg://", "postgresql://", 1),
                autocommit=True,
            ) as admin:
                admin.execute("SELECT pg_terminate_backend(%s, 10000)", (pid,))  # waits for it
            with pytest.raises(sa.exc.OperationalError) as raised:
                execute_prepared(connection, "SELECT 1", {})
            assert raised.value.connection_invalidated
            assert connection.invalidated
        after = NewJob(new_id("job"), owner, ARTIFACT_CREATE, {})
        system.store.submit(after, max_attempts=3)  # a new connection replaces it
        assert system.store.get(after.id, owner) is not None
    finally:
        system.close()
