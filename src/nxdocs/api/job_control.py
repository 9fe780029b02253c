"""Job control beside the contract's poll route: list the caller's jobs, cancel one.

`GET /v1/jobs/{id}` itself is served ahead of the framework (`nxdocs.api.jobs`);
every item these routes return is the same body, from the same serialiser.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

import orjson
from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nxdocs.api.deps import After, Caller, JobId, SystemDep, Workspace
from nxdocs.api.errors import ConflictError, NotFoundError, invalid
from nxdocs.api.lists import list_object
from nxdocs.api.objects import JobList, JobObject, JobType
from nxdocs.api.openapi import AUTHED, BAD_QUERY, NOT_FOUND, conflict, ok
from nxdocs.api.responses import OrjsonResponse
from nxdocs.auth.principal import Principal
from nxdocs.jobs.control import JobAlreadyFinishedError, JobControl
from nxdocs.poll.listing import JobFilter, JobLister
from nxdocs.poll.public import JobRow, job_json
from nxdocs.system import System

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses=AUTHED)


_Timestamp = Annotated[
    str | None,
    Query(
        max_length=40,
        json_schema_extra={"format": "date-time"},
        description="An RFC 3339 timestamp with its time zone, as the API writes them "
        "(`2026-01-15T10:30:00.000Z`); exclusive.",
    ),
]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_RFC_3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)


@router.get(
    "",
    summary="List jobs, newest first",
    response_model=None,
    responses={
        200: ok(JobList, "One page of jobs; each item as `GET /v1/jobs/{id}`."),
        **BAD_QUERY,
        **NOT_FOUND,
    },
)
def list_jobs(
    owner: Workspace,
    system: SystemDep,
    status: Annotated[
        Literal["processing", "completed", "failed"] | None,
        Query(description="Only jobs with this status."),
    ] = None,
    type: Annotated[JobType | None, Query(description="Only jobs of this type.")] = None,
    created_after: _Timestamp = None,
    created_before: _Timestamp = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Items per page, 1-100.")] = 20,
    after: After = None,
) -> Response:
    found = JobFilter(
        status=status,
        type=type,
        created_after=_ms("created_after", created_after),
        created_before=_ms("created_before", created_before),
    )
    lister = JobLister(system.engine)
    page = list_object(lambda: lister.page(owner, found, limit=limit, after=after), _item)
    return OrjsonResponse(page)


@router.post(
    "/{id}/cancel",
    summary="Cancel a job",
    response_model=None,
    responses={
        200: ok(JobObject, "The cancelled job: `failed`, with error code CANCELLED."),
        **NOT_FOUND,
        **conflict("The job has already finished (CONFLICT)."),
    },
)
async def cancel_job(job_id: JobId, caller: Caller, system: SystemDep) -> Response:
    """A queued job never runs; a running one stops at its next check. Either way the
    job, and its artifact or export, end `failed` with error code CANCELLED."""
    row = await run_in_threadpool(_cancel, system, caller, job_id)
    return Response(job_json(row)[0], media_type="application/json")


def _cancel(system: System, caller: Principal, job_id: str) -> JobRow:
    by = f"owner {caller.user_id}"
    try:
        cancelled = JobControl(system.store).cancel(job_id, caller.visible, by=by)
    except JobAlreadyFinishedError as finished:
        status = finished.job.state.public_status
        raise ConflictError(
            f"The job has already finished ({status}); it cannot be cancelled."
        ) from None
    if cancelled is None:
        raise NotFoundError()
    row = JobLister(system.engine).one(caller.visible, job_id)
    if row is None:  # deleted in the moment since: it was cancelled all the same
        raise NotFoundError()
    return row


def _item(row: JobRow) -> orjson.Fragment:
    return orjson.Fragment(job_json(row)[0])


def _ms(field: str, value: str | None) -> int | None:
    if value is None:
        return None
    moment = None
    # Python's own ISO parser takes far more than RFC 3339 (week dates, any
    # separator, even a NUL): the shape is checked first, the values after.
    if _RFC_3339.fullmatch(value):
        try:
            moment = datetime.fromisoformat(value.upper())
        except ValueError:
            moment = None
    if moment is None:
        raise invalid(
            field, "Must be an RFC 3339 timestamp with a time zone, e.g. 2026-01-15T10:30:00.000Z."
        )
    return (moment - _EPOCH) // timedelta(milliseconds=1)
