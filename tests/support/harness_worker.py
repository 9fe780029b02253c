"""A worker process for acceptance tests: `nxdocs worker` with the scripted handlers.

    python -m tests.support.harness_worker      (settings from NXDOCS_* variables)

It runs the same code path as the real command (`run_worker_until_signalled`,
so the same signal handling and graceful shutdown), with the handlers of
`tests.support.handlers` registered for both job types. Each success is also
recorded in `test_completed_by` with this process's pid, in the transaction
that completes the job, so a test can tell which process finished which job.
The test creates the tables (`create_tables`) before it starts any worker.
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa

from nxdocs.cli import run_worker_until_signalled
from nxdocs.jobs.handlers import JobContext, JobHandler
from nxdocs.jobs.model import ClaimedJob, ErrorInfo
from nxdocs.logs import configure_logging
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers

completed_by = sa.Table(
    "test_completed_by",
    sa.MetaData(),
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("pid", sa.Integer, nullable=False),
)


class PidRecordingHandler:
    """A scripted handler that also records which process completed each job."""

    def __init__(self, inner: JobHandler) -> None:
        self.inner = inner
        self.type = inner.type

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        return self.inner.run(job, context)

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        self.inner.on_succeeded(connection, job, result)
        connection.execute(completed_by.insert().values(job_id=job.id, pid=os.getpid()))

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        self.inner.on_failed(connection, job, error)


def create_tables(system: System) -> None:
    """The scripted handlers' tables and `test_completed_by`; call before starting workers."""
    handlers.install(system)
    completed_by.create(system.engine, checkfirst=True)


def install(system: System) -> None:
    handlers.install(system)
    for job_type in sorted(system.registry.types):
        system.registry.register(PidRecordingHandler(system.registry.get(job_type)))


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    system = build_system(settings)
    try:
        install(system)
        run_worker_until_signalled(system)
    finally:
        system.close()


if __name__ == "__main__":
    main()
