"""The legacy `POST /v0/export/{job_id}?format=...`: export what an `artifact.create` job made.

Kept for clients of the hosted API's v0, which named the job rather than the
artifact and answered in one step. It runs the very sync export of
`POST /v1/exports` (`nxdocs.api.exports.export_and_wait`: the same checks,
quota, job, renderers and wait) on the job's artifact, then answers:

- 200 `{"download_url", "format", "expires_at"}` once the export completed
  (the link is signed as `GET /v1/exports/{id}` signs it);
- 202 `{"job_id", "export_id", "format", "status": "processing"}` if it
  outlasts `--sync-wait-seconds`: follow the export's job, then
  `GET /v1/exports/{export_id}`;
- 400 for `google-slides`, for every artifact type: nxdocs has no Google
  account to connect, and v0 has no body for a failed export, so it is
  refused before anything is made (every other format takes both types);
- 404 for a job that is not the caller's, not an `artifact.create` job, not
  there, or not shaped like a job id, and for an artifact deleted since;
- 409 for a job that has not completed (still processing, or failed), and
  for an export that failed, with the export's own error code (e.g.
  RENDER_FAILED): v0's answer has no room for a failed export, which /v1
  shows in a 201, and a failed render is no server fault;
- 422 in FastAPI's own shape for a missing or unknown `format`, as v0 was a
  FastAPI app: `{"detail": [{"loc", "msg", "type", ...}]}`;

Every other error has nxdocs's shape, as on /v1; the key is required as on
/v1 (`nxdocs.api.auth`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Path, Query
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from nxdocs.api.deps import LinksDep, SystemDep, Visible, WaiterDep
from nxdocs.api.errors import ApiError, ConflictError, ExportFailedError, NotFoundError, invalid
from nxdocs.api.exports import export_and_wait
from nxdocs.api.idempotency import NO_KEY
from nxdocs.api.objects import ErrorBody, LegacyExport, LegacyExportPending
from nxdocs.api.openapi import AUTHED, NOT_FOUND, ok
from nxdocs.api.responses import OrjsonResponse
from nxdocs.clock import format_timestamp
from nxdocs.exports.model import (
    COMPLETED,
    GOOGLE_SLIDES,
    PROCESSING,
    ExportCreate,
    ExportFormatName,
)
from nxdocs.ids import is_id
from nxdocs.jobs.model import ARTIFACT_CREATE, JobState
from nxdocs.poll.listing import JobLister
from nxdocs.system import System


class LegacyRoute(APIRoute):
    """Validation errors answered as FastAPI answers them by default (422), not as
    nxdocs's 400: what v0 clients were written against."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handler(request)
            except RequestValidationError as exc:
                return await request_validation_exception_handler(request, exc)

        return route


router = APIRouter(prefix="/v0", tags=["legacy v0"], route_class=LegacyRoute, responses=AUTHED)
_RETRY_AFTER = {"Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}}


@router.post(
    "/export/{job_id}",
    summary="Export the artifact of a completed artifact.create job (legacy v0)",
    operation_id="v0_export",
    response_model=None,
    responses={
        200: ok(LegacyExport, "The export completed: its file's signed link."),
        202: ok(
            LegacyExportPending,
            "The export outlasted the wait: follow `job_id`, then GET /v1/exports/{export_id}.",
            _RETRY_AFTER,
        ),
        400: {
            "model": ErrorBody,
            "description": "The format cannot be made: google-slides needs a Google account, "
            "which nxdocs cannot connect (VALIDATION_ERROR).",
        },
        **NOT_FOUND,
        409: {
            "model": ErrorBody,
            "description": "The job has not completed: still processing (with Retry-After) "
            "or failed (CONFLICT); or the export failed, with its own error code "
            "(e.g. RENDER_FAILED).",
            "headers": _RETRY_AFTER,
        },
        429: {
            "model": ErrorBody,
            "description": "Over the request rate, or the monthly export limit is used up "
            "(RATE_LIMITED).",
            "headers": _RETRY_AFTER,
        },
    },
)
async def export_job(
    job_id: Annotated[str, Path(description="An `artifact.create` job's id, `job_...`.")],
    fmt: Annotated[ExportFormatName, Query(alias="format", description="The file to make.")],
    visible: Visible,
    system: SystemDep,
    waiter: WaiterDep,
    links: LinksDep,
) -> Response:
    """The artifact a completed `artifact.create` job made, exported as `POST /v1/exports`
    would and waited for: 200 with the file's signed link, or 202 with the export's job
    when it outlasts the wait. `google-slides` is refused (400): no Google account can
    be connected. A bad or missing `format` is FastAPI's own 422, as v0 answered."""
    if fmt == GOOGLE_SLIDES:
        raise invalid("format", "google-slides needs a connected Google account; nxdocs has none.")
    artifact_id = await run_in_threadpool(_artifact_of, system, visible, job_id)
    body = ExportCreate(artifact_id=artifact_id, format=fmt)
    export = await export_and_wait(system, visible, body, waiter, NO_KEY)
    if export.status == PROCESSING:
        pending = {
            "job_id": export.job_id,
            "export_id": export.id,
            "format": export.format,
            "status": PROCESSING,
        }
        retry = str(system.settings.retry_after_seconds)
        return OrjsonResponse(pending, status_code=202, headers={"Retry-After": retry})
    download = await run_in_threadpool(links.describe, export)
    if export.status != COMPLETED or download.url is None or download.expires_at is None:
        raise _failed(export.error_code, export.error_message)
    done = {
        "download_url": download.url,
        "format": export.format,
        "expires_at": format_timestamp(download.expires_at),
    }
    return OrjsonResponse(done)


def _artifact_of(system: System, visible: frozenset[str], job_id: str) -> str:
    """The artifact a completed `artifact.create` job of a `visible` owner made."""
    if not is_id(job_id, "job"):
        raise NotFoundError()
    job = JobLister(system.engine).one(visible, job_id)
    if job is None or job.type != ARTIFACT_CREATE:
        raise NotFoundError()
    state = JobState(job.state)
    if not state.is_terminal:
        retry = str(system.settings.retry_after_seconds)
        raise ConflictError(
            "The job is still processing; retry once it has completed.",
            headers={"Retry-After": retry},
        )
    if state is not JobState.SUCCEEDED:
        raise ConflictError(f"The job failed ({job.error_code}); it made nothing to export.")
    artifact_id = orjson.loads(job.result or "{}").get("artifact_id")
    if not isinstance(artifact_id, str) or not is_id(artifact_id, "doc"):
        raise NotFoundError()
    return artifact_id


def _failed(code: str | None, message: str | None) -> ApiError:
    if code == "ARTIFACT_NOT_FOUND":
        return NotFoundError()  # deleted while it was exported
    return ExportFailedError(code or "INTERNAL_ERROR", message or "The export failed.")
