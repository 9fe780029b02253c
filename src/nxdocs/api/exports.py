"""Export routes: create (sync and async) and get."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nxdocs.api.deps import Owner, SystemDep
from nxdocs.api.errors import NotFoundError, RateLimitedError, invalid
from nxdocs.api.responses import OrjsonResponse
from nxdocs.artifacts.model import READY
from nxdocs.exports.links import DownloadLinks
from nxdocs.exports.model import PROCESSING, Export, ExportCreate
from nxdocs.exports.store import Quota, QuotaExceededError
from nxdocs.system import System

router = APIRouter(prefix="/v1/exports", tags=["exports"])


@router.post("/async", status_code=202, summary="Export an artifact in the background")
async def create_export_async(
    body: ExportCreate, owner: Owner, system: SystemDep, request: Request
) -> Response:
    export = await run_in_threadpool(_create, system, owner, body)
    return OrjsonResponse(_api(request, export), status_code=202)


@router.post("", status_code=201, summary="Export an artifact and wait for the file")
async def create_export(
    body: ExportCreate, owner: Owner, system: SystemDep, request: Request
) -> Response:
    """201 with the finished export (completed or failed); 202 like the async route if the
    rendering outlasts the bounded wait (`NXDOCS_SYNC_WAIT_SECONDS`)."""
    export = await run_in_threadpool(_create, system, owner, body)
    waiter = request.app.state.waiter
    await waiter.wait(export.job_id, owner, system.settings.sync_wait_seconds)
    shown = await run_in_threadpool(system.exports.get, export.id, owner) or export
    # The code follows the body shown, which may have finished after the wait.
    finished = shown.status != PROCESSING
    body_out = await run_in_threadpool(_api, request, shown)
    return OrjsonResponse(body_out, status_code=201 if finished else 202)


@router.get("/{export_id}", summary="Get an export (exports.get)")
def get_export(export_id: str, owner: Owner, system: SystemDep, request: Request) -> dict[str, Any]:
    """The latest state; a completed export gets a freshly signed `download_url`."""
    export = system.exports.get(export_id, owner)
    if export is None:
        raise NotFoundError()
    return _api(request, export)


def _api(request: Request, export: Export) -> dict[str, Any]:
    links: DownloadLinks = request.app.state.links
    return export.to_api(links.describe(export))


def _create(system: System, owner: str, body: ExportCreate) -> Export:
    """Check the artifact and the quota, then insert the export and its job."""
    artifact = system.artifacts.get(owner, body.artifact_id)
    if artifact is None:
        raise NotFoundError()
    # Page numbers can be checked only once the pages exist; for an artifact
    # still generating, the job checks them (PAGES_OUT_OF_RANGE).
    if artifact.status == READY and body.pages and artifact.page_count is not None:
        beyond = [page for page in body.pages if page > artifact.page_count]
        if beyond:
            raise invalid(
                "pages", f"The artifact has {artifact.page_count} pages; {beyond} do not exist."
            )
    month_start = month_start_ms(system.clock.now_ms())
    quota = Quota(system.settings.monthly_export_limit, month_start)
    try:
        return system.exports.create(owner, body.artifact_id, body.format, body.pages, quota)
    except QuotaExceededError:
        wait = max(1, (next_month_ms(month_start) - system.clock.now_ms()) // 1000)
        raise RateLimitedError(
            "The monthly export limit is used up; it resets on the 1st.",
            headers={"Retry-After": str(wait)},
        ) from None


def next_month_ms(month_start: int) -> int:
    start = datetime.fromtimestamp(month_start / 1000, tz=UTC)
    following = start.replace(year=start.year + (start.month == 12), month=start.month % 12 + 1)
    return int(following.timestamp() * 1000)


def month_start_ms(now_ms: int) -> int:
    """Midnight UTC on the first day of `now_ms`'s month: exports count per calendar month."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return int(start.timestamp() * 1000)
