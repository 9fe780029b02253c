"""A process that stalls inside a transaction does not hide its job forever (PostgreSQL).

A worker stopped (SIGSTOP, a frozen VM) between a progress write and its
commit keeps the job's row locked. Claims and reapers skip locked rows, so
without a limit on idle transactions the job would stay out of reach for as
long as the process stays stopped, and a reaper waiting for the lock would
hang with it. Here the stalled process is played by an
open transaction on the system's own engine; the server must end it once it
has sat idle for a lease, and another worker must then take the job over.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from nxdocs.db.schema import jobs
from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support import handlers
from tests.support.jobs import enqueue, state_of
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(60)  # without the limit the reaper hangs on the lock

LEASE_SECONDS = 1.0


def test_a_transaction_left_open_by_a_stalled_worker_is_ended_and_its_job_reclaimed(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    system = build_system(
        Settings(database_url=postgres_schema_url, data_dir=tmp_path, lease_seconds=LEASE_SECONDS)
    )
    handlers.install(system)
    stalled = system.engine.connect()
    try:
        owner = system.keys.create("test").owner_id
        job_id = enqueue(system, owner, {"steps": []})
        [claimed] = system.store.claim("stalled-worker", 1, LEASE_SECONDS)
        assert claimed.id == job_id

        # The stalled worker's progress write, never committed: the row stays locked.
        stalled.begin()
        stalled.execute(jobs.update().where(jobs.c.id == job_id).values(progress_done=1))

        def taken_over() -> bool:
            # Reaping waits for the row lock: it returns once the server has
            # ended the stalled session (without the limit, never).
            system.store.reap_expired_leases()
            return [job.id for job in system.store.claim("other-worker", 1, 30)] == [job_id]

        wait_until(taken_over, timeout=30, interval=0.1)

        row = state_of(system, job_id)
        assert (row["worker_id"], row["attempts"]) == ("other-worker", 2)
        assert row["progress_done"] is None, "the stalled write was rolled back"
        with pytest.raises(sa.exc.DBAPIError):
            stalled.commit()  # the server ended the stalled session
    finally:
        stalled.close()
        system.close()
