"""Export routes: create (sync and async) and get."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nxdocs.api.deps import ExportId, LinksDep, Owner, SystemDep, WaiterDep
from nxdocs.api.errors import NotFoundError, RateLimitedError
from nxdocs.api.idempotency import IdempotencyKeyDep, KeyHold
from nxdocs.api.json_body import StrictJsonRoute
from nxdocs.api.objects import ExportObject
from nxdocs.api.openapi import AUTHED, IDEMPOTENCY_KEY, IDEMPOTENT, JSON_BODY, NOT_FOUND, ok
from nxdocs.api.responses import OrjsonResponse
from nxdocs.exports.links import DownloadLinks
from nxdocs.exports.model import PROCESSING, Export, ExportCreate
from nxdocs.exports.quota import Quota, QuotaExceededError
from nxdocs.exports.requests import check_pages
from nxdocs.system import System

router = APIRouter(
    prefix="/v1/exports", tags=["exports"], route_class=StrictJsonRoute, responses=AUTHED
)
_STARTED = ok(ExportObject, "Processing; follow its `job_id`.")
_CREATE_ERRORS = {
    **JSON_BODY,
    **NOT_FOUND,
    **IDEMPOTENT,
    429: {
        **AUTHED[429],
        "description": "Over the request rate, or the monthly export limit is used up "
        "(RATE_LIMITED).",
    },
}


@router.post(
    "/async",
    status_code=202,
    summary="Export an artifact in the background",
    responses={202: _STARTED, **_CREATE_ERRORS},
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_export_async(
    body: ExportCreate, owner: Owner, system: SystemDep, links: LinksDep, key: IdempotencyKeyDep
) -> Response:
    export = await run_in_threadpool(_create, system, owner, body, key)
    return OrjsonResponse(_api(links, export), status_code=202)


@router.post(
    "",
    status_code=201,
    summary="Export an artifact and wait for the file",
    responses={
        201: ok(ExportObject, "Completed, or failed with its `error`."),
        202: _STARTED,
        **_CREATE_ERRORS,
    },
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_export(
    body: ExportCreate,
    owner: Owner,
    system: SystemDep,
    waiter: WaiterDep,
    links: LinksDep,
    key: IdempotencyKeyDep,
) -> Response:
    """201 with the finished export (completed or failed); 202 like the async route if the
    rendering outlasts the bounded wait (`NXDOCS_SYNC_WAIT_SECONDS`)."""
    export = await run_in_threadpool(_create, system, owner, body, key)
    await waiter.wait(export.job_id, owner, system.settings.sync_wait_seconds)
    shown = await run_in_threadpool(system.exports.get, export.id, owner) or export
    # The code follows the body shown, which may have finished after the wait.
    finished = shown.status != PROCESSING
    body_out = await run_in_threadpool(_api, links, shown)
    return OrjsonResponse(body_out, status_code=201 if finished else 202)


@router.get(
    "/{id}",
    summary="Get an export (exports.get)",
    response_model=None,
    responses={200: ok(ExportObject, "The export's latest state."), **NOT_FOUND},
)
def get_export(
    export_id: ExportId, owner: Owner, system: SystemDep, links: LinksDep
) -> dict[str, Any]:
    """The latest state; a completed export gets a freshly signed `download_url`."""
    return _api(links, _owned(system, owner, export_id))


def _owned(system: System, owner: str, export_id: str) -> Export:
    export = system.exports.get(export_id, owner)
    if export is None:
        raise NotFoundError()
    return export


def _api(links: DownloadLinks, export: Export) -> dict[str, Any]:
    return export.to_api(links.describe(export))


def _create(system: System, owner: str, body: ExportCreate, key: KeyHold) -> Export:
    """Check the artifact and the quota, then insert the export and its job.

    For a retry with the Idempotency-Key of a request that died after creating
    its export: that export as it is now (404 if deleted since), nothing new."""
    if key.created is not None:
        return _owned(system, owner, key.created.resource_id)
    artifact = system.artifacts.get(owner, body.artifact_id)
    if artifact is None:
        raise NotFoundError()
    check_pages(artifact, body.pages)
    quota = Quota.monthly(system.settings.monthly_export_limit, system.clock.now_ms())
    try:
        return system.exports.create(
            owner, body.artifact_id, body.format, body.pages, quota, on_created=key.on_created
        )
    except QuotaExceededError:
        raise RateLimitedError(
            "The monthly export limit is used up; it resets on the 1st.",
            headers={"Retry-After": str(quota.seconds_until_reset(system.clock.now_ms()))},
        ) from None
