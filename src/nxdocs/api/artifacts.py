"""Artifact routes: create (sync and async), get, list, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nxdocs.api.deps import (
    After,
    ArtifactId,
    Caller,
    Limit,
    SystemDep,
    Visible,
    WaiterDep,
    Workspace,
    workspace_of,
)
from nxdocs.api.errors import NotFoundError
from nxdocs.api.idempotency import IdempotencyKeyDep, KeyHold
from nxdocs.api.json_body import StrictJsonRoute
from nxdocs.api.lists import list_object
from nxdocs.api.objects import ArtifactDeleted, ArtifactList, ArtifactObject
from nxdocs.api.openapi import (
    AUTHED,
    BAD_QUERY,
    IDEMPOTENCY_KEY,
    IDEMPOTENT,
    JSON_BODY,
    NOT_FOUND,
    ok,
)
from nxdocs.api.responses import OrjsonResponse
from nxdocs.artifacts.model import GENERATING, Artifact, ArtifactCreate
from nxdocs.artifacts.requests import new_artifact
from nxdocs.auth.principal import Principal
from nxdocs.system import System

router = APIRouter(
    prefix="/v1/artifacts", tags=["artifacts"], route_class=StrictJsonRoute, responses=AUTHED
)
_STARTED = ok(ArtifactObject, "Generating; follow its `job_id`.")


@router.post(
    "/async",
    status_code=202,
    summary="Create an artifact in the background",
    responses={202: _STARTED, **JSON_BODY, **NOT_FOUND, **IDEMPOTENT},
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_artifact_async(
    body: ArtifactCreate, caller: Caller, system: SystemDep, key: IdempotencyKeyDep
) -> Response:
    artifact = await run_in_threadpool(_create, system, caller, body, key)
    return OrjsonResponse(artifact.to_api(), status_code=202)


@router.post(
    "",
    status_code=201,
    summary="Create an artifact and wait for it",
    responses={
        201: ok(ArtifactObject, "Ready, or failed with its `error`."),
        202: _STARTED,
        **JSON_BODY,
        **NOT_FOUND,
        **IDEMPOTENT,
    },
    openapi_extra=IDEMPOTENCY_KEY,
)
async def create_artifact(
    body: ArtifactCreate,
    caller: Caller,
    system: SystemDep,
    waiter: WaiterDep,
    key: IdempotencyKeyDep,
) -> Response:
    """201 with the finished artifact (ready or failed); 202 like the async route if the
    generation outlasts the bounded wait (`NXDOCS_SYNC_WAIT_SECONDS`)."""
    artifact = await run_in_threadpool(_create, system, caller, body, key)
    await waiter.wait(artifact.job_id, artifact.owner_id, system.settings.sync_wait_seconds)
    shown = await run_in_threadpool(system.artifacts.get, caller.visible, artifact.id) or artifact
    # The code follows the body shown, which may have finished after the wait.
    finished = shown.status != GENERATING
    return OrjsonResponse(shown.to_api(), status_code=201 if finished else 202)


@router.get(
    "/{id}",
    summary="Get an artifact",
    response_model=None,
    responses={200: ok(ArtifactObject, "The artifact."), **NOT_FOUND},
)
def get_artifact(artifact_id: ArtifactId, visible: Visible, system: SystemDep) -> dict[str, Any]:
    return _visible(system, visible, artifact_id).to_api()


@router.get(
    "",
    summary="List artifacts, newest first",
    response_model=None,
    responses={200: ok(ArtifactList, "One page of artifacts."), **BAD_QUERY, **NOT_FOUND},
)
def list_artifacts(
    owner: Workspace, system: SystemDep, limit: Limit = 20, after: After = None
) -> dict[str, Any]:
    """The caller's own artifacts, or with `org_id` the organization's."""
    return list_object(
        lambda: system.artifacts.list(owner, limit=limit, after=after), Artifact.to_api
    )


@router.delete(
    "/{id}",
    summary="Delete an artifact",
    response_model=None,
    responses={200: ok(ArtifactDeleted, "Deleted."), **NOT_FOUND},
)
def delete_artifact(artifact_id: ArtifactId, visible: Visible, system: SystemDep) -> dict[str, Any]:
    """The artifact is gone (404 from now on), and so are its exports (404) and
    their files (links answer 410); its jobs and theirs keep answering."""
    if not system.exports.delete_artifact(system.artifacts, system.blobs, visible, artifact_id):
        raise NotFoundError()
    return {"id": artifact_id, "object": "artifact", "deleted": True}


def _visible(system: System, visible: frozenset[str], artifact_id: str) -> Artifact:
    artifact = system.artifacts.get(visible, artifact_id)
    if artifact is None:
        raise NotFoundError()
    return artifact


def _create(system: System, caller: Principal, body: ArtifactCreate, key: KeyHold) -> Artifact:
    """A new artifact in the caller's space or `org_id`'s; or, for a retry with the
    Idempotency-Key of a request that died after creating one, that artifact as
    it is now (404 if deleted since)."""
    if key.created is not None:
        return _visible(system, caller.visible, key.created.resource_id)
    owner = workspace_of(caller, body.org_id)
    new = new_artifact(
        owner,
        body,
        max_content_bytes=system.settings.max_content_bytes,
        # The new artifact's owner's brands only: an organization's artifact takes
        # none of a member's own, nor another organization's.
        find_brand=lambda brand_id: system.brands.get({owner}, brand_id),
    )
    return system.artifacts.create(new, on_created=key.on_created)
