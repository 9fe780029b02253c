"""Artifact routes: create (sync and async), get, list, delete."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from nxdocs.api.deps import After, Limit, Owner, SystemDep
from nxdocs.api.errors import NotFoundError, invalid
from nxdocs.api.lists import list_object
from nxdocs.api.responses import OrjsonResponse
from nxdocs.artifacts.model import GENERATING, Artifact, ArtifactCreate
from nxdocs.artifacts.store import NewArtifact
from nxdocs.generate.naming import artifact_name
from nxdocs.render.themes import BUILTIN_THEMES
from nxdocs.system import System

router = APIRouter(prefix="/v1/artifacts", tags=["artifacts"])


@router.post("/async", status_code=202, summary="Create an artifact in the background")
async def create_artifact_async(body: ArtifactCreate, owner: Owner, system: SystemDep) -> Response:
    artifact = await run_in_threadpool(_create, system, owner, body)
    return OrjsonResponse(artifact.to_api(), status_code=202)


@router.post("", status_code=201, summary="Create an artifact and wait for it")
async def create_artifact(
    body: ArtifactCreate, owner: Owner, system: SystemDep, request: Request
) -> Response:
    """201 with the finished artifact (ready or failed); 202 like the async route if the
    generation outlasts the bounded wait (`NXDOCS_SYNC_WAIT_SECONDS`)."""
    artifact = await run_in_threadpool(_create, system, owner, body)
    waiter = request.app.state.waiter
    await waiter.wait(artifact.job_id, owner, system.settings.sync_wait_seconds)
    shown = await run_in_threadpool(system.artifacts.get, owner, artifact.id) or artifact
    # The code follows the body shown, which may have finished after the wait.
    finished = shown.status != GENERATING
    return OrjsonResponse(shown.to_api(), status_code=201 if finished else 202)


@router.get("/{artifact_id}", summary="Get an artifact")
def get_artifact(artifact_id: str, owner: Owner, system: SystemDep) -> dict[str, Any]:
    return _owned(system, owner, artifact_id).to_api()


@router.get("", summary="List artifacts, newest first")
def list_artifacts(
    owner: Owner, system: SystemDep, limit: Limit = 20, after: After = None
) -> dict[str, Any]:
    return list_object(
        lambda: system.artifacts.list(owner, limit=limit, after=after), Artifact.to_api
    )


@router.delete("/{artifact_id}", summary="Delete an artifact")
def delete_artifact(artifact_id: str, owner: Owner, system: SystemDep) -> dict[str, Any]:
    """The artifact is gone (404 from now on); its jobs keep answering."""
    if not system.artifacts.delete(owner, artifact_id):
        raise NotFoundError()
    return {"id": artifact_id, "object": "artifact", "deleted": True}


def _owned(system: System, owner: str, artifact_id: str) -> Artifact:
    artifact = system.artifacts.get(owner, artifact_id)
    if artifact is None:
        raise NotFoundError()
    return artifact


def _create(system: System, owner: str, body: ArtifactCreate) -> Artifact:
    """Validate what the body's schema cannot, then insert the artifact and its job."""
    if not (body.prompt or "").strip() and not (body.content or "").strip():
        raise invalid("prompt", "Give a prompt or content (Markdown), or both.")
    if body.content is not None and len(body.content.encode()) > system.settings.max_content_bytes:
        raise invalid("content", f"Content is over {system.settings.max_content_bytes} bytes.")
    if body.theme_id is not None and body.theme_id not in BUILTIN_THEMES:
        raise invalid("theme_id", "No theme with this id; see GET /v1/themes.")
    brand = None
    if body.brand_id is not None:
        brand = system.brands.get(owner, body.brand_id)
        if brand is None:
            raise invalid("brand_id", "No brand with this id; see GET /v1/brands.")
    new = NewArtifact(
        owner_id=owner,
        # Provisional until the generator names it from the pages it made.
        name=artifact_name(body.name, body.prompt, []),
        type=body.type,
        prompt=body.prompt,
        content=body.content,
        page_count=body.page_count,
        brand_id=body.brand_id,
        theme_id=body.theme_id or (brand.theme_id if brand else None),
        ai_instruction=brand.ai_instruction if brand else None,
        named_by_client=body.name is not None,
    )
    return system.artifacts.create(new)
