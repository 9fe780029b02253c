"""One job as its dashboard page shows it: the API's fields plus what the engine keeps
(payload, attempts, schedule, lease), read by id for the owners a session may see."""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass, fields
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.db.engine import read_only
from nxdocs.db.schema import jobs
from nxdocs.jobs.model import JobState


@dataclass(frozen=True)
class JobDetail:
    id: str
    owner_id: str
    type: str
    state: JobState
    payload: dict[str, Any]
    result: dict[str, Any] | None
    error_code: str | None
    error_message: str | None
    attempts: int
    max_attempts: int
    releases: int
    run_at: int
    lease_expires_at: int | None
    worker_id: str | None
    progress_done: int | None
    progress_total: int | None
    created_at: int
    updated_at: int

    @property
    def status(self) -> str:
        """The contract's status (processing, completed, failed)."""
        return self.state.public_status

    @property
    def finished_at(self) -> int | None:
        """When it ended: a finished row is never written again, so its last update."""
        return self.updated_at if self.state.is_terminal else None


# The columns read as they are stored; the three others are decoded first.
_COLUMNS = [
    jobs.c[field.name]
    for field in fields(JobDetail)
    if field.name not in ("payload", "result", "state")
]


class JobDetails:
    def __init__(self, engine: sa.Engine) -> None:
        self.reads = read_only(engine)

    def get(self, visible: Set[str], job_id: str) -> JobDetail | None:
        """The job, if one of the `visible` owners owns it."""
        query = sa.select(*_COLUMNS, jobs.c.state, jobs.c.payload, jobs.c.result).where(
            jobs.c.id == job_id, jobs.c.owner_id.in_(visible)
        )
        with self.reads.connect() as connection:
            row = connection.execute(query).one_or_none()
        if row is None:
            return None
        values = row._mapping
        return JobDetail(
            **{column.name: values[column.name] for column in _COLUMNS},
            state=JobState(values["state"]),
            payload=orjson.loads(values["payload"]),
            result=None if values["result"] is None else orjson.loads(values["result"]),
        )
