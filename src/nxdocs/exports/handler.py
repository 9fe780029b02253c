"""The `export.run` job: wait for the artifact, render it, store the file."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from nxdocs.artifacts.model import FAILED, READY, Artifact
from nxdocs.artifacts.store import ArtifactStore
from nxdocs.exports.model import GOOGLE_SLIDES, Export
from nxdocs.exports.store import ExportDeletedError, ExportFile, ExportStore, export_prefix
from nxdocs.jobs.errors import JobError, LeaseLostError, RetryableJobError, SnoozeJob
from nxdocs.jobs.handlers import JobContext
from nxdocs.jobs.model import EXPORT_RUN, ClaimedJob, ErrorInfo
from nxdocs.jobs.notify import Notifier
from nxdocs.pages import Document
from nxdocs.render import HttpImageLoader, ImageBudget, render
from nxdocs.render.asset_images import AssetImageLoader
from nxdocs.render.errors import RenderError
from nxdocs.render.exporter import ExportFormat
from nxdocs.render.html import PageSize
from nxdocs.render.themes import BUILTIN_THEMES, get_theme
from nxdocs.storage.blobs import BlobStore

_WAIT_POLL_SECONDS = 1.0
_INLINE_WAIT_SECONDS = 0.5
_SNOOZE_SECONDS = 0.5
_RENDERABLE: dict[str, ExportFormat] = {"html": "html", "pdf": "pdf", "png": "png", "pptx": "pptx"}

OwnedAssets = Callable[[str, str], tuple[bytes, str] | None]
"""(owner id, asset id) -> the asset's bytes and content type, or None if that
owner has no such asset (`nxdocs.assets.AssetStore.image`)."""


@dataclass(frozen=True)
class RenderOptions:
    page_size: PageSize
    dpi: int
    artifact_wait_seconds: float
    images: ImageBudget = field(default_factory=ImageBudget)


class ExportRunHandler:
    """Idempotent: the export's id is in the payload, each claim writes its file
    under a folder of its own, and the export points at the file of the claim
    that completed it."""

    type = EXPORT_RUN

    def __init__(
        self,
        exports: ExportStore,
        artifacts: ArtifactStore,
        blobs: BlobStore,
        notifier: Notifier,
        options: RenderOptions,
        *,
        assets: OwnedAssets | None = None,
    ) -> None:
        self.exports = exports
        self.artifacts = artifacts
        self.blobs = blobs
        self.notifier = notifier
        self.options = options
        self.assets = assets

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        export = self.exports.get(job.payload["export_id"])
        if export is None:
            raise _deleted()
        if export.format == GOOGLE_SLIDES:
            raise JobError(
                "GOOGLE_AUTH_REQUIRED",
                "No Google account is connected, so the export to Google Slides cannot run.",
            )
        artifact = self._ready_artifact(export, context)
        document = self._pages(export, artifact)
        self._render_and_store(export, artifact, document, context)
        return {"export_id": export.id}

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        self.exports.mark_completed(connection, job.payload["export_id"])

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        self.exports.mark_failed(connection, job.payload["export_id"], error)

    def _ready_artifact(self, export: Export, context: JobContext) -> Artifact:
        """The artifact once generated, woken by its job's notifications.

        A quick generation is waited for here; a longer one snoozes this job, so
        it does not hold a worker slot that the artifact's own job may need.
        Over `artifact_wait_seconds` since the export was made, it gives up.
        """
        changed = threading.Event()
        unsubscribe = self.notifier.subscribe(lambda _job_id: changed.set())
        give_up_ms = export.created_at + int(self.options.artifact_wait_seconds * 1000)
        snooze_at = time.monotonic() + _INLINE_WAIT_SECONDS
        try:
            while True:
                changed.clear()
                artifact = self.artifacts.get({export.owner_id}, export.artifact_id)
                if artifact is None:
                    raise JobError("ARTIFACT_NOT_FOUND", "The artifact was deleted.")
                if artifact.status == READY:
                    return artifact
                if artifact.status == FAILED:
                    raise JobError(
                        "ARTIFACT_FAILED",
                        f"The artifact failed to generate ({artifact.error_code}).",
                    )
                if self.exports.clock.now_ms() > give_up_ms:
                    raise RetryableJobError(
                        "ARTIFACT_NOT_READY", "The artifact is still being generated."
                    )
                if time.monotonic() > snooze_at:
                    raise SnoozeJob(_SNOOZE_SECONDS)
                changed.wait(_WAIT_POLL_SECONDS)
                context.heartbeat()
        finally:
            unsubscribe()

    def _pages(self, export: Export, artifact: Artifact) -> Document:
        document = self.artifacts.document(artifact.id)
        if document is None:
            raise JobError("ARTIFACT_NOT_FOUND", "The artifact was deleted.")
        if export.pages is None:
            return document
        out_of_range = [page for page in export.pages if page > len(document.pages)]
        if out_of_range:
            raise JobError(
                "PAGES_OUT_OF_RANGE",
                f"The artifact has {len(document.pages)} pages; asked for {out_of_range}.",
            )
        return document.select(export.pages)

    def _render_and_store(
        self, export: Export, artifact: Artifact, document: Document, context: JobContext
    ) -> None:
        fmt = _RENDERABLE[export.format]
        theme_id = artifact.theme_id if artifact.theme_id in BUILTIN_THEMES else None
        # Only the artifact's owner's assets: another owner's id draws its alt text.
        assets = _OwnerAssets(self.assets, artifact.owner_id)
        try:
            with HttpImageLoader(budget=self.options.images) as fetched:
                rendered = render(
                    document,
                    get_theme(theme_id),
                    fmt,
                    page_size=self.options.page_size,
                    dpi=self.options.dpi,
                    image_loader=AssetImageLoader(assets, fetched, self.options.images),
                    progress=context.report_progress,
                )
        except RenderError as exc:
            assets.raise_failure()
            raise JobError(exc.code, exc.message) from exc
        assets.raise_failure()
        if context.lease_lost():
            raise LeaseLostError  # another attempt may own the job now; write nothing
        # Each claim writes under a folder of its own, and the export row points
        # at its file only through a fenced write: a stale attempt can neither
        # overwrite nor delete the current file. The download link is signed
        # only once the job has completed. A claim whose record is refused, or
        # fails, takes its own folder away again.
        file_name = f"{file_stem(artifact.name)}.{rendered.extension}"
        folder = f"{export_prefix(export.id)}{context.fence.blob_prefix}/"
        self._put(export, folder, file_name, rendered.data)
        stored = ExportFile(
            folder + file_name,
            rendered.content_type,
            file_name,
            len(rendered.data),
            len(document.pages),
        )
        try:
            saved = self.exports.save_file(context.fence, export.id, stored)
        except ExportDeletedError:
            self.blobs.delete_prefix(folder)
            raise _deleted() from None
        except BaseException:
            self.blobs.delete_prefix(folder)
            raise
        if not saved:
            self.blobs.delete_prefix(folder)
            raise LeaseLostError

    def _put(self, export: Export, folder: str, file_name: str, data: bytes) -> None:
        """Write the file, unless the artifact was deleted meanwhile.

        The fenced `save_file` is what keeps a deleted export's file from
        outliving it; checking here first only spares the write. A put that
        fails because the delete is removing the folder under it is the same
        clean failure, not an internal error.
        """
        if self.exports.get(export.id) is None:
            raise _deleted()
        try:
            self.blobs.put(folder + file_name, data)
        except OSError:
            self.blobs.delete_prefix(folder)
            if self.exports.get(export.id) is None:
                raise _deleted() from None
            raise


class _OwnerAssets:
    """One owner's assets, as the renderer reads them (`AssetSource`).

    A read that fails (the database or the blob store unreachable) is not a
    missing image: it is kept, the renderer draws the alt text meanwhile, and
    `raise_failure` raises it once the render is over, so the attempt fails and
    is retried instead of storing a file without the image.
    """

    def __init__(self, read: OwnedAssets | None, owner_id: str) -> None:
        self._read = read
        self._owner_id = owner_id
        self._failure: Exception | None = None

    def __call__(self, asset_id: str) -> tuple[bytes, str] | None:
        if self._read is None:
            return None
        try:
            return self._read(self._owner_id, asset_id)
        except Exception as exc:
            self._failure = exc
            return None

    def raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


def _deleted() -> JobError:
    return JobError("ARTIFACT_NOT_FOUND", "The artifact was deleted, and this export with it.")


def file_stem(name: str) -> str:
    """A safe, portable file name from the artifact's name."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-._")
    return stem[:80] or "export"
