"""Page previews: one page of an artifact as a small PNG, drawn on request.

Drawn as a PNG export draws it (HTML, then PDF, then pdfium; `nxdocs.render`),
with the artifact's theme, at a thumbnail's resolution, and only the first
sheet of a page that fills several. Like the embed viewer, a preview fetches
nothing: uploaded assets of the artifact's owner are drawn, an image by URL
shows its alt text, so opening the dashboard never makes the server call out.

A render takes a CPU for a moment, so a process draws at most
`MAX_CONCURRENT` at once, on threads of their own: a request waiting for its
turn holds no thread, so previews never starve the API's shared thread pool.
At most `MAX_WAITING` wait; more are refused (`PreviewsBusyError`, a 503 with
Retry-After). A ready artifact's pages never change, so the browser may keep
what it got (`Cache-Control` in the route).
"""

from __future__ import annotations

import io
import zipfile
from functools import partial

import anyio
import anyio.to_thread

from nxdocs.artifacts.model import Artifact
from nxdocs.pages.model import Document
from nxdocs.render import ImageBudget, render
from nxdocs.render.asset_images import AssetImageLoader, AssetSource
from nxdocs.render.html import PageSize
from nxdocs.render.themes import BUILTIN_THEMES, get_theme

PREVIEW_DPI = 40
MAX_CONCURRENT = 2
MAX_WAITING = 32


class PreviewsBusyError(Exception):
    """More previews are waiting to be drawn than this process queues."""


class PagePreviews:
    def __init__(self, page_size: PageSize, images: ImageBudget) -> None:
        self.page_size = page_size
        self.images = images
        self._waiting = 0
        # Made on first use: an anyio limiter belongs to the running event loop.
        self._limiter: anyio.CapacityLimiter | None = None

    async def png(
        self, artifact: Artifact, document: Document, page: int, assets: AssetSource
    ) -> bytes:
        """Page `page` (1-indexed, within the document) of `artifact` as PNG bytes;
        `assets` reads the artifact owner's assets. Raises `RenderError`, and
        `PreviewsBusyError` when too many wait."""
        if self._waiting >= MAX_WAITING:
            raise PreviewsBusyError
        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(MAX_CONCURRENT)
        self._waiting += 1
        try:
            return await anyio.to_thread.run_sync(
                partial(self._draw, artifact, document, page, assets), limiter=self._limiter
            )
        finally:
            self._waiting -= 1

    def _draw(
        self, artifact: Artifact, document: Document, page: int, assets: AssetSource
    ) -> bytes:
        theme = get_theme(artifact.theme_id if artifact.theme_id in BUILTIN_THEMES else None)
        rendered = render(
            document.select([page]),
            theme,
            "png",
            page_size=self.page_size,
            dpi=PREVIEW_DPI,
            image_loader=AssetImageLoader(assets, _no_fetch, self.images),
        )
        with zipfile.ZipFile(io.BytesIO(rendered.data)) as archive:
            return archive.read(archive.namelist()[0])


def _no_fetch(_src: str, /) -> None:
    """Previews fetch nothing: an image by URL draws as its alt text."""
