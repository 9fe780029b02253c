"""Enqueueing jobs directly, for tests of the engine below the API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.system import System


def enqueue(
    system: System,
    owner_id: str,
    payload: dict[str, Any] | None = None,
    *,
    job_type: str = ARTIFACT_CREATE,
    max_attempts: int | None = None,
) -> str:
    job = NewJob(new_id("job"), owner_id, job_type, payload or {})
    with system.engine.begin() as connection:
        system.store.enqueue(
            connection, job, max_attempts=max_attempts or system.settings.max_attempts
        )
    return job.id


def state_of(system: System, job_id: str) -> dict[str, Any]:
    with system.engine.connect() as connection:
        row = connection.execute(sa.text("SELECT * FROM jobs WHERE id = :id"), {"id": job_id}).one()
    return dict(row._mapping)
