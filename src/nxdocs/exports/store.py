"""Export rows: created with their job in one transaction, finalised with it in another."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import exports, owners
from nxdocs.exports.model import COMPLETED, FAILED, PROCESSING, Export
from nxdocs.exports.quota import Quota, QuotaExceededError
from nxdocs.ids import new_id
from nxdocs.jobs.model import EXPORT_RUN, ErrorInfo, Fence, NewJob
from nxdocs.jobs.store import JobStore
from nxdocs.storage.blobs import BlobStore


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
        self, owner_id: str, artifact_id: str, fmt: str, pages: list[int] | None, quota: Quota
    ) -> Export:
        """Insert the export and its `export.run` job together; both ids are fixed here.

        The quota is counted in the same transaction, with this owner's creates
        serialised (a row lock on PostgreSQL; SQLite has one writer), so
        parallel requests cannot overrun it.
        """
        export_id, job_id, now = new_id("exp"), new_id("job"), self.clock.now_ms()
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
        return created

    def get(self, export_id: str, owner_id: str | None = None) -> Export | None:
        """The export; with `owner_id`, only if it belongs to that owner."""
        query = sa.select(exports).where(exports.c.id == export_id)
        if owner_id is not None:
            query = query.where(exports.c.owner_id == owner_id)
        with self.reads.connect() as connection:
            row = connection.execute(query).one_or_none()
        return None if row is None else _export(row._mapping)

    def count_since(self, owner_id: str, since_ms: int) -> int:
        with self.reads.connect() as connection:
            return _count_since(connection, owner_id, since_ms)

    def save_file(self, fence: Fence, export_id: str, file: ExportFile) -> bool:
        """Record the rendered file while the job's attempt still holds it.

        False, writing nothing, when another attempt owns the job now. The
        status flips to completed with the job, in its own transaction.
        """
        with self.engine.begin() as connection:
            if not self.jobs.hold(connection, fence):
                return False
            connection.execute(
                exports.update()
                .where(exports.c.id == export_id)
                .values(
                    file_key=file.key,
                    content_type=file.content_type,
                    file_name=file.file_name,
                    file_size=file.size,
                    pages_exported=file.pages_exported,
                )
            )
        return True

    def mark_completed(self, connection: sa.Connection, export_id: str) -> None:
        now = self.clock.now_ms()
        connection.execute(
            exports.update()
            .where(exports.c.id == export_id)
            .values(status=COMPLETED, completed_at=now, updated_at=now)
        )

    def mark_failed(self, connection: sa.Connection, export_id: str, error: ErrorInfo) -> None:
        connection.execute(
            exports.update()
            .where(exports.c.id == export_id)
            .values(
                status=FAILED,
                error_code=error.code,
                error_message=error.message,
                updated_at=self.clock.now_ms(),
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
        for export_id in expired:
            blobs.delete_prefix(export_prefix(export_id))
            with self.engine.begin() as connection:
                connection.execute(
                    exports.update().where(exports.c.id == export_id).values(file_key=None)
                )
        return len(expired)


def export_prefix(export_id: str) -> str:
    """Where every file of an export lives in the blob store."""
    return f"exports/{export_id}/"


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
