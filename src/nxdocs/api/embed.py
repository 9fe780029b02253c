"""Embeds: `GET /v1/embed/{id}` signs a viewer link for a ready artifact, and
`GET /v1/embed/view/{token}` is the viewer it opens, without a key.

The viewer is a public folder of /v1 (`PUBLIC_PREFIXES` in `nxdocs.api.app`):
its token (`nxdocs.embed.links`) stands in for the key and opens that one
artifact's pages, read by id, until it expires or the artifact is deleted. A
token nxdocs did not sign, in any shape, is a 403; an expired one, or one
whose artifact is gone, a 410. The page itself is `nxdocs.embed.viewer`'s,
sent with the strict headers it names.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from starlette.responses import Response

from nxdocs.api.deps import ArtifactId, SignerDep, SystemDep, Visible
from nxdocs.api.errors import ConflictError, ForbiddenError, GoneError, NotFoundError
from nxdocs.api.objects import EmbedObject
from nxdocs.api.openapi import AUTHED, EMBED_VIEWER, NOT_FOUND, conflict, ok
from nxdocs.artifacts.model import GENERATING, READY
from nxdocs.clock import format_timestamp
from nxdocs.embed import (
    EmbedLinks,
    ExpiredLinkError,
    InvalidLinkError,
    iframe_html,
    viewer_headers,
    viewer_page,
)
from nxdocs.embed.links import MAX_TOKEN_CHARS
from nxdocs.render.asset_images import AssetImageLoader
from nxdocs.render.themes import BUILTIN_THEMES, get_theme

router = APIRouter(prefix="/v1/embed", tags=["embed"])

_STILL_GENERATING = "The artifact is still generating; ask again once its job has completed."
_FAILED = "The artifact failed to generate, so it has no pages to show."


def embed_links(signer: SignerDep, system: SystemDep) -> EmbedLinks:
    settings = system.settings
    return EmbedLinks(
        signer,
        system.clock,
        public_url=settings.resolved_public_url(),
        link_seconds=settings.embed_link_seconds,
    )


EmbedLinksDep = Annotated[EmbedLinks, Depends(embed_links)]
Token = Annotated[str, Path(max_length=MAX_TOKEN_CHARS, description="The token of an embed_url.")]


@router.get(
    "/{id}",
    summary="Get an embed link for an artifact",
    response_model=None,
    responses={
        200: ok(EmbedObject, "A freshly signed viewer link and its iframe."),
        **AUTHED,
        **NOT_FOUND,
        **conflict("The artifact is still generating, or failed (CONFLICT)."),
    },
)
def get_embed(
    artifact_id: ArtifactId, visible: Visible, system: SystemDep, links: EmbedLinksDep
) -> dict[str, Any]:
    """Each call signs a new link that lives `NXDOCS_EMBED_LINK_SECONDS` (7 days)."""
    artifact = system.artifacts.get(visible, artifact_id)
    if artifact is None:
        raise NotFoundError()
    if artifact.status != READY:
        raise ConflictError(_STILL_GENERATING if artifact.status == GENERATING else _FAILED)
    assert artifact.page_count is not None  # a ready artifact has its pages
    link = links.issue(artifact.id, artifact.theme_id)
    return {
        "document_id": artifact.id,
        "embed_url": link.url,
        "iframe_html": iframe_html(link.url, artifact.name, artifact.type),
        "title": artifact.name,
        "total_pages": artifact.page_count,
        "expires_at": format_timestamp(link.expires_at_ms),
    }


@router.get(
    "/view/{token}",
    summary="The embed viewer (signed link, no key)",
    response_class=Response,
    responses=EMBED_VIEWER,
)
def view(token: Token, system: SystemDep, links: EmbedLinksDep) -> Response:
    try:
        grant = links.verify(token)
    except InvalidLinkError:
        raise ForbiddenError() from None
    except ExpiredLinkError:
        raise GoneError() from None
    found = system.artifacts.owned_document(grant.artifact_id)
    if found is None:
        raise GoneError("The artifact was deleted; this link opens nothing any more.")
    owner_id, document = found
    theme = get_theme(grant.theme_id if grant.theme_id in BUILTIN_THEMES else None)
    page = viewer_page(
        document,
        theme,
        page_size=system.settings.document_page_size,
        # Bounded like an export's: a view reads no more images, bytes or time.
        assets=AssetImageLoader(
            lambda asset_id: system.assets.image(owner_id, asset_id), _no_fetch, system.images
        ),
    )
    return Response(page, media_type="text/html; charset=utf-8", headers=viewer_headers())


def _no_fetch(_src: str, /) -> None:
    """The viewer fetches nothing: only assets reach the loader (`viewer_page`)."""
