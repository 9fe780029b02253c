"""Enqueueing jobs directly, for tests of the engine below the API."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, JobState, NewJob
from nxdocs.jobs.runner import WorkerThread
from nxdocs.jobs.store import database_now
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.faults import RecordingHandler
from tests.support.waiting import wait_until


def enqueue(
    system: System,
    owner_id: str,
    payload: dict[str, Any] | None = None,
    *,
    job_type: str = ARTIFACT_CREATE,
    max_attempts: int | None = None,
) -> str:
    job = NewJob(new_id("job", system.clock.now_ms()), owner_id, job_type, payload or {})
    with system.engine.begin() as connection:
        system.store.enqueue(
            connection, job, max_attempts=max_attempts or system.settings.max_attempts
        )
    return job.id


def state_of(system: System, job_id: str) -> dict[str, Any]:
    with system.engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).one()
    return dict(row._mapping)


def set_row(system: System, job_id: str, **values: Any) -> None:
    """Change a job's row directly: the way tests move a lease or `run_at` into
    the past on the database's clock, which no test can set."""
    assignments = ", ".join(f"{name} = :{name}" for name in values)
    with system.engine.begin() as connection:
        connection.execute(
            sa.text(f"UPDATE jobs SET {assignments} WHERE id = :id"),
            {"id": job_id, **values},
        )


def database_now_ms(system: System) -> int:
    """The database's clock, as leases and `run_at` see it."""
    with system.engine.connect() as connection:
        return int(connection.execute(sa.select(database_now(system.store.now_sql))).scalar_one())


def expire_lease(system: System, job_id: str) -> None:
    """The job's lease ran out a moment ago, by the database's clock."""
    set_row(system, job_id, lease_expires_at=database_now_ms(system) - 1)


@contextmanager
def woken_worker(settings: Settings) -> Iterator[tuple[System, str]]:
    """A listening worker whose fallback poll is far longer than any test (only
    a wake-up starts a job in time), and an owner; jobs are no-ops."""
    system = build_system(settings.model_copy(update={"poll_interval_seconds": 300}))
    system.registry.register(RecordingHandler(ARTIFACT_CREATE))
    system.start_listening()
    owner = system.keys.create("woken").owner_id
    thread = WorkerThread(system.worker())
    thread.start()
    try:
        wait_until(lambda: system.notifier.listening, timeout=30, interval=0.01)
        yield system, owner
    finally:
        thread.stop(timeout=30)
        system.close()


def wait_succeeded(system: System, owner_id: str, job_id: str) -> None:
    def succeeded() -> bool:
        view = system.store.get(job_id, owner_id)
        return view is not None and view.state is JobState.SUCCEEDED

    wait_until(succeeded, timeout=60)
