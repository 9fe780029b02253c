"""Export rows: created with their job in one transaction, finalised with it in another.

Deleting an artifact tombstones its exports rather than removing their rows
(`delete_artifact`). A tombstone is invisible (`get` answers None, so the API
answers 404) and final (no later write of a running job revives it); it still
counts against the monthly quota, so deleting artifacts cannot buy exports back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence, Set
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.artifacts.store import ArtifactStore
from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import exports, owners
from nxdocs.exports.model import COMPLETED, FAILED, PROCESSING, Export
from nxdocs.exports.quota import Quota, QuotaExceededError
from nxdocs.ids import new_id
from nxdocs.jobs.model import EXPORT_RUN, ErrorInfo, Fence, NewJob
from nxdocs.jobs.store import JobStore
from nxdocs.logs import exception_summary
from nxdocs.storage.blobs import BlobStore

log = logging.getLogger(__name__)

# The status of a tombstone: internal only, never shown (no API body has it).
DELETED = "deleted"
# A tombstone's completed_at: before any retention cutoff, so the purge, which
# finds kept files by completion time on its index, takes any file the delete
# itself did not get to remove (the process died between commit and deletion).
_PURGE_AT_ONCE = 0


class ExportDeletedError(Exception):
    """The export was deleted (with its artifact) while its job was running."""


@dataclass(frozen=True)
class ExportFile:
    key: str
    content_type: str
    file_name: str
    size: int
    pages_exported: int


class ExportStore:
    def __init__(self, jobs: JobStore, clock: Clock, max_attempts: int) -> None:
        self.jobs = jobs
        self.engine = jobs.engine
        self.reads = read_only(self.engine)
        self.clock = clock
        self.max_attempts = max_attempts

    def create(
        self,
        owner_id: str,
        artifact_id: str,
        fmt: str,
        pages: list[int] | None,
        quota: Quota,
        *,
        on_created: Callable[[sa.Connection, str, str], None] | None = None,
    ) -> Export:
        """Insert the export and its `export.run` job together; both ids are fixed here.

        The quota is counted in the same transaction, with this owner's creates
        serialised (a row lock on PostgreSQL; SQLite has one writer), so
        parallel requests cannot overrun it. `on_created` runs last in that
        transaction, as in `ArtifactStore.create`.
        """
        now = self.clock.now_ms()
        export_id, job_id = new_id("exp", now), new_id("job", now)
        # Returned as inserted: a re-read could already see the worker's result.
        created = Export(
            id=export_id,
            owner_id=owner_id,
            artifact_id=artifact_id,
            job_id=job_id,
            format=fmt,
            status=PROCESSING,
            pages=pages,
            pages_exported=None,
            content_type=None,
            file_name=None,
            file_key=None,
            error_code=None,
            error_message=None,
            created_at=now,
            updated_at=now,
            completed_at=None,
        )
        with self.engine.begin() as connection:
            connection.execute(
                sa.select(owners.c.id).where(owners.c.id == owner_id).with_for_update()
            )
            if _count_since(connection, owner_id, quota.since_ms) >= quota.limit:
                raise QuotaExceededError
            connection.execute(
                exports.insert().values(
                    id=export_id,
                    owner_id=owner_id,
                    artifact_id=artifact_id,
                    job_id=job_id,
                    format=fmt,
                    status=PROCESSING,
                    pages=None if pages is None else orjson.dumps(pages).decode(),
                    created_at=now,
                    updated_at=now,
                )
            )
            job = NewJob(job_id, owner_id, EXPORT_RUN, {"export_id": export_id})
            self.jobs.enqueue(connection, job, max_attempts=self.max_attempts)
            if on_created is not None:
                on_created(connection, export_id, job_id)
        return created

    def get(self, export_id: str, visible: Set[str] | None = None) -> Export | None:
        """The export; with `visible`, only if one of those owners owns it."""
        query = sa.select(exports).where(exports.c.id == export_id, exports.c.status != DELETED)
        if visible is not None:
            query = query.where(exports.c.owner_id.in_(visible))
        with self.reads.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _export(row._mapping)

    def count_since(self, owner_id: str, since_ms: int) -> int:
        with self.reads.connect() as connection:
            return _count_since(connection, owner_id, since_ms)

    def save_file(self, fence: Fence, export_id: str, file: ExportFile) -> bool:
        """Record the rendered file while the job's attempt still holds it.

        False, writing nothing, when another attempt owns the job now. The
        status flips to completed with the job, in its own transaction. Raises
        `ExportDeletedError` if the export is a tombstone: its files are being
        removed, and this one must not outlive them.
        """
        with self.engine.begin() as connection:
            if not self.jobs.hold(connection, fence):
                return False
            recorded = connection.execute(
                exports.update()
                .where(exports.c.id == export_id, exports.c.status != DELETED)
                .values(
                    file_key=file.key,
                    content_type=file.content_type,
                    file_name=file.file_name,
                    file_size=file.size,
                    pages_exported=file.pages_exported,
                )
            )
            if recorded.rowcount != 1:
                raise ExportDeletedError(export_id)
        return True

    def mark_completed(self, connection: sa.Connection, export_id: str) -> None:
        now = self.clock.now_ms()
        connection.execute(
            exports.update()
            .where(exports.c.id == export_id, exports.c.status != DELETED)
            .values(status=COMPLETED, completed_at=now, updated_at=now)
        )

    def mark_failed(self, connection: sa.Connection, export_id: str, error: ErrorInfo) -> None:
        connection.execute(
            exports.update()
            .where(exports.c.id == export_id, exports.c.status != DELETED)
            .values(
                status=FAILED,
                error_code=error.code,
                error_message=error.message,
                updated_at=self.clock.now_ms(),
                # A file recorded before the failure (a cancel between the file's
                # record and the job's completion) is no one's: the purge takes it
                # at its next run, as a tombstone's.
                completed_at=sa.case(
                    (exports.c.file_key.is_not(None), _PURGE_AT_ONCE),
                    else_=exports.c.completed_at,
                ),
            )
        )

    def purge_files(self, blobs: BlobStore, completed_before_ms: int) -> int:
        """Delete the files of exports completed before the cutoff; the rows stay.

        The whole prefix goes, with any file a stale attempt left beside the
        published one.
        """
        with self.reads.connect() as connection:
            expired = (
                connection.execute(
                    sa.select(exports.c.id).where(
                        exports.c.completed_at < completed_before_ms,
                        exports.c.file_key.is_not(None),
                    )
                )
                .scalars()
                .all()
            )
        return _remove_files(self.engine, blobs, expired)

    def delete_artifact(
        self,
        artifacts: ArtifactStore,
        blobs: BlobStore,
        visible: Set[str],
        artifact_id: str,
    ) -> bool:
        """Delete the artifact (with its variations, if it has any) and tombstone
        their exports in one transaction, then remove their files; False if no
        `visible` owner has such an artifact.

        The files go after the commit: removed before it, a running export could
        still record a new file in between. From the commit on, its fenced write
        is refused (`ExportDeletedError`) and it removes its own folder. A crash
        between commit and removal leaves files that the retention purge takes
        at its next run (see `_PURGE_AT_ONCE`). Jobs are not touched: they keep
        answering, and a running export job fails with ARTIFACT_NOT_FOUND.
        """
        tombstoned: list[str] = []

        def tombstone(connection: sa.Connection, owner_id: str, removed: Sequence[str]) -> None:
            # An artifact's exports are its owner's (see the export route), and
            # owner_id leads the index this update walks (ix_exports_owner_created).
            # `removed` is the artifact and, if it had any, its variations.
            tombstoned.extend(
                connection.execute(
                    exports.update()
                    .where(
                        exports.c.owner_id == owner_id,
                        exports.c.artifact_id.in_(removed),
                        exports.c.status != DELETED,
                    )
                    .values(
                        status=DELETED,
                        completed_at=_PURGE_AT_ONCE,
                        updated_at=self.clock.now_ms(),
                    )
                    .returning(exports.c.id)
                ).scalars()
            )

        if not artifacts.delete(visible, artifact_id, cascade=tombstone):
            return False
        try:
            _remove_files(self.engine, blobs, tombstoned)
        except Exception as exc:
            # The delete has committed and stands; the purge retries the files.
            log.warning(
                "files of %d deleted export(s) left to the purge: %s",
                len(tombstoned),
                exception_summary(exc),
            )
        return True


def export_prefix(export_id: str) -> str:
    """Where every file of an export lives in the blob store."""
    return f"exports/{export_id}/"


def _remove_files(engine: sa.Engine, blobs: BlobStore, export_ids: Iterable[str]) -> int:
    """Remove each export's whole folder, then forget its file; the number removed."""
    removed = 0
    for export_id in export_ids:
        blobs.delete_prefix(export_prefix(export_id))
        with engine.begin() as connection:
            connection.execute(
                exports.update().where(exports.c.id == export_id).values(file_key=None)
            )
        removed += 1
    return removed


def _count_since(connection: sa.Connection, owner_id: str, since_ms: int) -> int:
    count = connection.execute(
        sa.select(sa.func.count())
        .select_from(exports)
        .where(exports.c.owner_id == owner_id, exports.c.created_at >= since_ms)
    ).scalar_one()
    return int(count)


def _export(row: Any) -> Export:
    return Export(
        id=row["id"],
        owner_id=row["owner_id"],
        artifact_id=row["artifact_id"],
        job_id=row["job_id"],
        format=row["format"],
        status=row["status"],
        pages=None if row["pages"] is None else orjson.loads(row["pages"]),
        pages_exported=row["pages_exported"],
        content_type=row["content_type"],
        file_name=row["file_name"],
        file_key=row["file_key"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        completed_at=row["completed_at"],
    )
