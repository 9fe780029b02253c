"""Artifact rows: created with their job in one transaction, finalised with it in another."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.artifacts.model import FAILED, GENERATING, READY, Artifact
from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.pagination import newest_first
from nxdocs.db.schema import artifacts
from nxdocs.generate import GeneratedArtifact, GenerationRequest
from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, ErrorInfo, Fence, NewJob
from nxdocs.jobs.store import JobStore
from nxdocs.pages import Document, DocumentType


@dataclass(frozen=True)
class NewArtifact:
    """A validated request, with the brand's instruction and theme resolved."""

    owner_id: str
    name: str
    type: DocumentType
    prompt: str | None
    content: str | None
    page_count: int | None
    brand_id: str | None
    theme_id: str | None
    ai_instruction: str | None
    named_by_client: bool


class ArtifactStore:
    def __init__(self, jobs: JobStore, clock: Clock, max_attempts: int) -> None:
        self.jobs = jobs
        self.engine = jobs.engine
        self.reads = read_only(self.engine)
        self.clock = clock
        self.max_attempts = max_attempts

    def create(
        self,
        new: NewArtifact,
        *,
        on_created: Callable[[sa.Connection, str, str], None] | None = None,
    ) -> Artifact:
        """Insert the artifact and its `artifact.create` job together; both ids are fixed here.

        `on_created` runs last in the same transaction with (connection, artifact
        id, job id), for what must commit with them or not at all (the
        Idempotency-Key's record of what it created); if it raises, nothing is
        written.
        """
        now = self.clock.now_ms()
        artifact_id, job_id = new_id("doc", now), new_id("job", now)
        # Returned as inserted: a re-read could already see the worker's result.
        created = Artifact(
            id=artifact_id,
            owner_id=new.owner_id,
            job_id=job_id,
            name=new.name,
            type=new.type,
            status=GENERATING,
            page_count=None,
            brand_id=new.brand_id,
            theme_id=new.theme_id,
            error_code=None,
            error_message=None,
            generation=None,
            created_at=now,
            updated_at=now,
        )
        request = {
            "type": new.type,
            "prompt": new.prompt,
            "content": new.content,
            "name": new.name if new.named_by_client else None,
            "page_count": new.page_count,
            "ai_instruction": new.ai_instruction,
        }
        with self.engine.begin() as connection:
            connection.execute(
                artifacts.insert().values(
                    id=artifact_id,
                    owner_id=new.owner_id,
                    job_id=job_id,
                    name=new.name,
                    type=new.type,
                    status=GENERATING,
                    page_count=None,
                    brand_id=new.brand_id,
                    theme_id=new.theme_id,
                    request=orjson.dumps(request).decode(),
                    created_at=now,
                    updated_at=now,
                )
            )
            job = NewJob(job_id, new.owner_id, ARTIFACT_CREATE, {"artifact_id": artifact_id})
            self.jobs.enqueue(connection, job, max_attempts=self.max_attempts)
            if on_created is not None:
                on_created(connection, artifact_id, job_id)
        return created

    def get(self, owner_id: str, artifact_id: str) -> Artifact | None:
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(artifacts).where(
                    artifacts.c.id == artifact_id, artifacts.c.owner_id == owner_id
                )
            ).one_or_none()
        return None if row is None else _artifact(row._mapping)

    def list(
        self, owner_id: str, *, limit: int, after: str | None
    ) -> tuple[Sequence[Artifact], bool]:
        with self.reads.connect() as connection:
            rows, has_more = newest_first(connection, artifacts, owner_id, limit=limit, after=after)
        return [_artifact(row._mapping) for row in rows], has_more

    def delete(
        self,
        owner_id: str,
        artifact_id: str,
        *,
        cascade: Callable[[sa.Connection], None] | None = None,
    ) -> bool:
        """Remove the artifact; its job keeps answering with its own state.

        `cascade` runs in the same transaction once the row is gone, for what
        goes with it (`ExportStore.delete_artifact` tombstones its exports there).
        False, changing nothing, if the owner has no such artifact.
        """
        with self.engine.begin() as connection:
            deleted = connection.execute(
                artifacts.delete().where(
                    artifacts.c.id == artifact_id, artifacts.c.owner_id == owner_id
                )
            )
            if deleted.rowcount != 1:
                return False
            if cascade is not None:
                cascade(connection)
        return True

    def generation_request(self, artifact_id: str) -> GenerationRequest | None:
        """What the job must generate, or None if the artifact was deleted meanwhile."""
        with self.reads.connect() as connection:
            stored = connection.execute(
                sa.select(artifacts.c.request).where(artifacts.c.id == artifact_id)
            ).scalar_one_or_none()
        return None if stored is None else GenerationRequest(**orjson.loads(stored))

    def save_generated(self, fence: Fence, artifact_id: str, generated: GeneratedArtifact) -> bool:
        """Store the pages while the job's attempt still holds it; a rerun overwrites.

        False, writing nothing, when another attempt owns the job now: a stale
        attempt never replaces the pages of the one that took over. The status
        stays "generating" until the job completes, in `mark_ready`, in the
        job's own transaction.
        """
        with self.engine.begin() as connection:
            if not self.jobs.hold(connection, fence):
                return False
            connection.execute(
                artifacts.update()
                .where(artifacts.c.id == artifact_id, artifacts.c.status == GENERATING)
                .values(
                    name=generated.name[:200],
                    document=generated.document.model_dump_json(),
                    generation=orjson.dumps(generated.metadata).decode(),
                    page_count=len(generated.document.pages),
                )
            )
        return True

    def document(self, artifact_id: str) -> Document | None:
        with self.reads.connect() as connection:
            stored = connection.execute(
                sa.select(artifacts.c.document).where(artifacts.c.id == artifact_id)
            ).scalar_one_or_none()
        return None if stored is None else Document.model_validate_json(stored)

    def mark_ready(self, connection: sa.Connection, artifact_id: str) -> None:
        connection.execute(
            artifacts.update()
            .where(artifacts.c.id == artifact_id)
            .values(status=READY, updated_at=self.clock.now_ms())
        )

    def mark_failed(self, connection: sa.Connection, artifact_id: str, error: ErrorInfo) -> None:
        connection.execute(
            artifacts.update()
            .where(artifacts.c.id == artifact_id)
            .values(
                status=FAILED,
                error_code=error.code,
                error_message=error.message,
                updated_at=self.clock.now_ms(),
            )
        )


def _artifact(row: Any) -> Artifact:
    generation = row["generation"]
    return Artifact(
        id=row["id"],
        owner_id=row["owner_id"],
        job_id=row["job_id"],
        name=row["name"],
        type=row["type"],
        status=row["status"],
        page_count=row["page_count"],
        brand_id=row["brand_id"],
        theme_id=row["theme_id"],
        error_code=row["error_code"],
        error_message=row["error_message"],
        generation=None if generation is None else orjson.loads(generation),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )
