"""An artifact's page: what it is, and its pages previewed as images.

The previews are `<img>`s of this folder (`/pages/{n}.png`), drawn by
`PagePreviews` for the session's own artifacts only, with the cookie as
their credential like every dashboard request; no signed link is handed out.
A page that is not there, whatever the path names (another owner's artifact,
a page past the last, text that is no page number), is a 404 with no body:
what an `<img>` makes of any refusal.
"""

from __future__ import annotations

import re

import anyio.to_thread
from fastapi import APIRouter
from starlette.responses import Response

from nxdocs.artifacts.model import READY, Artifact
from nxdocs.dashboard.messages import not_found
from nxdocs.dashboard.previews import PreviewsBusyError
from nxdocs.dashboard.signed_in import DashboardDep, SignedIn
from nxdocs.ids import is_id
from nxdocs.pages.model import MAX_PAGES, Document
from nxdocs.render.errors import RenderError

router = APIRouter(prefix="/dashboard/artifacts", include_in_schema=False)

# A ready artifact's pages never change, and the image is the owner's: kept by
# the browser only, for a day.
_PREVIEW_CACHE = "private, max-age=86400, immutable"
_PAGE_NUMBER = re.compile(rf"[1-9][0-9]{{0,{len(str(MAX_PAGES)) - 1}}}")


@router.get("/{artifact_id}")
def artifact_page(artifact_id: str, session: SignedIn, dash: DashboardDep) -> Response:
    artifact = None
    if is_id(artifact_id, "doc"):
        artifact = dash.system.artifacts.get(session.principal.visible, artifact_id)
    if artifact is None:
        return not_found(dash, session)
    pages = range(1, (artifact.page_count or 0) + 1) if artifact.status == READY else range(0)
    return dash.pages.render("artifact.html.j2", session=session, artifact=artifact, pages=pages)


@router.get("/{artifact_id}/pages/{page_text}.png")
async def page_preview(
    artifact_id: str, page_text: str, session: SignedIn, dash: DashboardDep
) -> Response:
    system = dash.system
    page = page_number(page_text)

    def find() -> tuple[Artifact, str, Document] | None:
        if page is None or not is_id(artifact_id, "doc"):
            return None
        artifact = system.artifacts.get(session.principal.visible, artifact_id)
        if artifact is None or artifact.status != READY:
            return None
        found = system.artifacts.owned_document(artifact_id)
        return None if found is None else (artifact, *found)

    found = await anyio.to_thread.run_sync(find)
    if page is None or found is None or page > len(found[2].pages):
        return Response(status_code=404)
    artifact, owner_id, document = found

    def assets(asset_id: str, /) -> tuple[bytes, str] | None:
        return system.assets.image(owner_id, asset_id)

    try:
        png = await dash.previews.png(artifact, document, page, assets)
    except PreviewsBusyError:
        return Response(status_code=503, headers={"Retry-After": "2"})
    except RenderError:
        # The page cannot be drawn (what would fail its export too): not the
        # server's fault, and never a 500.
        return Response(status_code=422)
    return Response(png, media_type="image/png", headers={"Cache-Control": _PREVIEW_CACHE})


def page_number(text: str) -> int | None:
    """The page a path names (`1` to `MAX_PAGES`, in ASCII digits, no sign or zeros
    in front), or None: read here rather than by the framework, whose refusal
    would be a JSON 400."""
    if _PAGE_NUMBER.fullmatch(text) is None:
        return None
    number = int(text)
    return number if number <= MAX_PAGES else None
