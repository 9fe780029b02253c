"""What the API shows of an export's file: a freshly signed link, and inline HTML.

The link leads to nxdocs's download route, which streams the file from the
blob store on any node; a store that hands out URLs of its own
(`DirectDownloads`: S3 with presigned downloads on) gives its URL instead.
"""

from __future__ import annotations

from nxdocs.clock import Clock
from nxdocs.exports.model import COMPLETED, DownloadInfo, Export
from nxdocs.storage.blobs import BlobStore, DirectDownloads
from nxdocs.storage.signing import LinkSigner

# An html export's `content` inlines its file only up to this size; past it
# (in practice, because of embedded images) `content` is null and the file is
# fetched from `download_url`. Every GET of the export would otherwise read
# and send the whole file, however large the images made it.
INLINE_CONTENT_MAX_BYTES = 2_000_000


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
        content = self._inline(export.file_key) if export.format == "html" else None
        # A store's own URL lives whole seconds: the most that fit, and at least one.
        seconds = max(1, (expires - now) // 1000)
        direct = self._direct(export.file_key, export.file_name, export.content_type, seconds)
        if direct is not None:
            return DownloadInfo(url=direct, expires_at=now + seconds * 1000, content=content)
        link = self.signer.link(export.id, export.file_name, expires)
        return DownloadInfo(url=link.url, expires_at=link.expires_at_ms, content=content)

    def _direct(
        self, key: str, file_name: str, content_type: str | None, seconds: int
    ) -> str | None:
        """The store's own URL for the file, if it hands those out."""
        if not isinstance(self.blobs, DirectDownloads):
            return None
        return self.blobs.download_url(
            key,
            file_name=file_name,
            content_type=content_type or "application/octet-stream",
            expires_seconds=seconds,
        )

    def _inline(self, key: str) -> str | None:
        """The HTML for `content`, if the file is at most `INLINE_CONTENT_MAX_BYTES`."""
        blob = self.blobs.open(key)
        if blob is None:
            return None
        if blob.size > INLINE_CONTENT_MAX_BYTES:
            blob.close()
            return None
        try:
            return b"".join(blob).decode(errors="replace")
        except OSError:
            return None  # unreadable after all: as if it were not there
