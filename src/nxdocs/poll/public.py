"""The contract's job object, serialised straight from stored columns.

This is the poll path's only serialiser: the stored `result` text is spliced
in as-is (`orjson.Fragment`), so a poll parses no JSON and validates nothing
twice. The contract's eight fields come first and unchanged; `progress` is
nxdocs's additive field.
"""

from __future__ import annotations

from typing import NamedTuple

import orjson

from nxdocs.clock import format_timestamp
from nxdocs.jobs.model import JobState

JOB_COLUMNS = (
    "id, type, state, result, error_code, error_message, "
    "progress_done, progress_total, created_at, updated_at"
)


class JobRow(NamedTuple):
    """The columns of `JOB_COLUMNS`, in that order."""

    id: str
    type: str
    state: str
    result: str | None
    error_code: str | None
    error_message: str | None
    progress_done: int | None
    progress_total: int | None
    created_at: int
    updated_at: int


def job_json(row: JobRow) -> tuple[bytes, bool]:
    """(body, still processing) for one job row."""
    status = JobState(row.state).public_status
    error = None
    if status == "failed" and row.error_code is not None:
        error = {"code": row.error_code, "message": row.error_message or ""}
    progress = None
    if row.progress_total is not None:
        progress = {"done": row.progress_done or 0, "total": row.progress_total}
    body = orjson.dumps(
        {
            "id": row.id,
            "object": "job",
            "type": row.type,
            "status": status,
            "result": None if row.result is None else orjson.Fragment(row.result),
            "error": error,
            "created_at": format_timestamp(row.created_at),
            "updated_at": format_timestamp(row.updated_at),
            "progress": progress,
        }
    )
    return body, status == "processing"
