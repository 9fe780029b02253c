"""Export routes: create (sync and async) and get."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nxdocs.api.deps import ExportId, LinksDep, SystemDep, Visible, WaiterDep
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
from nxdocs.poll.waiter import JobWaiter
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
    body: ExportCreate,
    visible: Visible,
    system: SystemDep,
    links: LinksDep,
    key: IdempotencyKeyDep,
) -> Response:
    export = await run_in_threadpool(_create, system, visible, body, key)
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
    visible: Visible,
    system: SystemDep,
    waiter: WaiterDep,
    links: LinksDep,
    key: IdempotencyKeyDep,
) -> Response:
    """201 with the finished export (completed or failed); 202 like the async route if the
    rendering outlasts the bounded wait (`NXDOCS_SYNC_WAIT_SECONDS`)."""
    shown = await export_and_wait(system, visible, body, waiter, key)
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
    export_id: ExportId, visible: Visible, system: SystemDep, links: LinksDep
) -> dict[str, Any]:
    """The latest state; a completed export gets a freshly signed `download_url`."""
    return _api(links, _visible(system, visible, export_id))


async def export_and_wait(
    system: System, visible: frozenset[str], body: ExportCreate, waiter: JobWaiter, key: KeyHold
) -> Export:
    """The sync create: the new export (see `_create`) as it is once its job has
    finished, or once the bounded wait (`NXDOCS_SYNC_WAIT_SECONDS`) has run out.
    Also the legacy `POST /v0/export/{job_id}` (`nxdocs.api.legacy_export`)."""
    export = await run_in_threadpool(_create, system, visible, body, key)
    await waiter.wait(export.job_id, export.owner_id, system.settings.sync_wait_seconds)
    return await run_in_threadpool(system.exports.get, export.id, visible) or export


def _visible(system: System, visible: frozenset[str], export_id: str) -> Export:
    export = system.exports.get(export_id, visible)
    if export is None:
        raise NotFoundError()
    return export


def _api(links: DownloadLinks, export: Export) -> dict[str, Any]:
    return export.to_api(links.describe(export))


def _create(system: System, visible: frozenset[str], body: ExportCreate, key: KeyHold) -> Export:
    """Check the artifact and the quota, then insert the export and its job.

    The export belongs to the artifact's owner (an organization's artifact makes
    the organization's export, counted in its quota), so whoever sees the
    artifact sees its exports. For a retry with the Idempotency-Key of a
    request that died after creating its export: that export as it is now (404
    if deleted since), nothing new."""
    if key.created is not None:
        return _visible(system, visible, key.created.resource_id)
    artifact = system.artifacts.get(visible, body.artifact_id)
    if artifact is None:
        raise NotFoundError()
    check_pages(artifact, body.pages)
    quota = Quota.monthly(system.settings.monthly_export_limit, system.clock.now_ms())
    try:
        return system.exports.create(
            artifact.owner_id,
            body.artifact_id,
            body.format,
            body.pages,
            quota,
            on_created=key.on_created,
        )
    except QuotaExceededError:
        raise RateLimitedError(
            "The monthly export limit is used up; it resets on the 1st.",
            headers={"Retry-After": str(quota.seconds_until_reset(system.clock.now_ms()))},
        ) from None
