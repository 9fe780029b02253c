"""A worker process for the queue benchmark: `nxdocs worker` with a no-op handler.

    python -m bench.noop_worker      (settings from NXDOCS_* variables)

The real command registers no handler that does nothing, so this one registers
a no-op for both job types (it returns the id fixed in the payload at once,
and its hooks write nothing) and then runs the same code path as
`nxdocs worker`: `run_worker_until_signalled`.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nxdocs.cli import run_worker_until_signalled
from nxdocs.jobs.handlers import JobContext
from nxdocs.jobs.model import JOB_TYPES, ClaimedJob, ErrorInfo
from nxdocs.logs import configure_logging
from nxdocs.settings import Settings
from nxdocs.system import build_system


class NoopHandler:
    def __init__(self, job_type: str) -> None:
        self.type = job_type

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        return {"artifact_id": job.payload.get("artifact_id", "doc_noop")}

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        pass

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        pass


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    system = build_system(settings)
    for job_type in JOB_TYPES:
        system.registry.register(NoopHandler(job_type))
    try:
        run_worker_until_signalled(system)
    finally:
        system.close()


if __name__ == "__main__":
    main()
