"""Scriptable handlers for engine tests, registered under the contract's job types.

The payload says how the job behaves, so one worker process can run every
scenario: succeed, fail transiently N times, fail always, fail fatally, raise
unexpectedly, or block until released (to be killed or stopped mid-job).
Each success is also recorded in `test_completions`, whose primary key turns
a second completion of the same job into an error.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa

from nxdocs.jobs.errors import JobError, RetryableJobError
from nxdocs.jobs.handlers import JobContext
from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN, ClaimedJob, ErrorInfo
from nxdocs.system import System

completions = sa.Table(
    "test_completions",
    sa.MetaData(),
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("attempt", sa.Integer, nullable=False),
)
failures = sa.Table(
    "test_failures",
    sa.MetaData(),
    sa.Column("job_id", sa.String(40), primary_key=True),
    sa.Column("code", sa.String(64), nullable=False),
)

RELEASE = threading.Event()
"""Set by in-process tests to let blocked jobs finish."""


class ScriptedHandler:
    def __init__(self, job_type: str) -> None:
        self.type = job_type

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        payload = job.payload
        if payload.get("block_attempts", 0) >= job.attempt:
            _block(context)
        if job.attempt <= payload.get("fail_times", 0):
            raise RetryableJobError("FLAKY", f"transient failure on attempt {job.attempt}")
        if payload.get("always_fail"):
            raise RetryableJobError("FLAKY", "this job always fails")
        if payload.get("fatal"):
            raise JobError("GENERATION_FAILED", "the input cannot be used")
        if payload.get("crash"):
            raise ValueError("secret internal detail")
        for step in range(payload.get("steps", 0)):
            context.report_progress(step + 1, payload["steps"])
        return {"artifact_id": payload.get("artifact_id", "doc_test")}

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        connection.execute(completions.insert().values(job_id=job.id, attempt=job.attempt))

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        connection.execute(failures.insert().values(job_id=job.id, code=error.code))


def _block(context: JobContext) -> None:
    """Hold the job until released or until the lease is lost (never in a killed process)."""
    while not RELEASE.wait(0.01) and not context.lease_lost():
        pass


def install(system: System) -> None:
    for table in (completions, failures):
        table.create(system.engine, checkfirst=True)
    for job_type in (ARTIFACT_CREATE, EXPORT_RUN):
        system.registry.register(ScriptedHandler(job_type))
