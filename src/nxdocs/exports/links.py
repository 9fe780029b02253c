"""What the API shows of an export's file: a freshly signed link, and inline HTML."""

from __future__ import annotations

from nxdocs.clock import Clock
from nxdocs.exports.model import COMPLETED, DownloadInfo, Export
from nxdocs.storage.blobs import BlobStore
from nxdocs.storage.signing import LinkSigner


class DownloadLinks:
    """Each read signs a new link that lives `url_seconds`, but never past the day the
    file is purged; a purged file has no link."""

    def __init__(
        self,
        signer: LinkSigner,
        blobs: BlobStore,
        clock: Clock,
        *,
        url_seconds: int,
        retention_seconds: int,
    ) -> None:
        self.signer = signer
        self.blobs = blobs
        self.clock = clock
        self.url_ms = url_seconds * 1000
        self.retention_ms = retention_seconds * 1000

    def describe(self, export: Export) -> DownloadInfo:
        if export.status != COMPLETED or export.file_key is None or export.file_name is None:
            return DownloadInfo(url=None, expires_at=None, content=None)
        assert export.completed_at is not None
        purge_at = export.completed_at + self.retention_ms
        now = self.clock.now_ms()
        if now >= purge_at:
            # Past retention: the next purge deletes it; hand out no dead link.
            return DownloadInfo(url=None, expires_at=None, content=None)
        expires = min(now + self.url_ms, purge_at)
        link = self.signer.link(export.id, export.file_name, expires)
        content = None
        if export.format == "html":
            data = self.blobs.read(export.file_key)
            content = None if data is None else data.decode()
        return DownloadInfo(url=link.url, expires_at=link.expires_at_ms, content=content)
