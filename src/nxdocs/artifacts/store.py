"""Artifact rows: created with their job in one transaction, finalised with it in another.

A create that asks for variations inserts them with the artifact: rows of their
own (`variation_of` the artifact's id, `variation` 2, 3, ...; the artifact
itself has `variation` 1), made by the artifact's one job, finalised with it,
and deleted with it. A row whose `variation` is 1 is the only kind that has
variations to read, so artifacts made without any cost no second query.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence, Set
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from nxdocs.artifacts.model import (
    FAILED,
    GENERATING,
    READY,
    Artifact,
    VariationSummary,
    variation_themes,
)
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
    variations: int = 1


@dataclass(frozen=True)
class GenerationPlan:
    """What an `artifact.create` job makes: the request, and the id of each of its
    variations still there, by number (1 is the artifact asked for)."""

    request: GenerationRequest
    members: dict[int, str]


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
        """Insert the artifact, its variations and their `artifact.create` job together;
        every id is fixed here. Returns the artifact asked for, its variations listed.

        `on_created` runs last in the same transaction with (connection, artifact
        id, job id), for what must commit with them or not at all (the
        Idempotency-Key's record of what it created); if it raises, nothing is
        written.
        """
        now = self.clock.now_ms()
        # All share one created_at; a list shows ties by id, highest first, so
        # the highest id goes to the artifact asked for: its variations follow it.
        ids = sorted((new_id("doc", now) for _ in range(new.variations)), reverse=True)
        artifact_id, job_id = ids[0], new_id("job", now)
        themes = variation_themes(new.theme_id, new.variations)
        request = {
            "type": new.type,
            "prompt": new.prompt,
            "content": new.content,
            "name": new.name if new.named_by_client else None,
            "page_count": new.page_count,
            "ai_instruction": new.ai_instruction,
            "variations": new.variations,
        }
        rows = [
            {
                "id": member_id,
                "owner_id": new.owner_id,
                "job_id": job_id,
                "name": new.name,
                "type": new.type,
                "status": GENERATING,
                "page_count": None,
                "brand_id": new.brand_id,
                "theme_id": theme_id,
                "request": orjson.dumps({**request, "variation": number}).decode(),
                "generation": None,
                "error_code": None,
                "error_message": None,
                "created_at": now,
                "updated_at": now,
                "variation_of": None if number == 1 else artifact_id,
                "variation": None if new.variations == 1 else number,
            }
            for number, (member_id, theme_id) in enumerate(zip(ids, themes, strict=True), 1)
        ]
        with self.engine.begin() as connection:
            connection.execute(artifacts.insert(), rows)
            job = NewJob(job_id, new.owner_id, ARTIFACT_CREATE, {"artifact_id": artifact_id})
            self.jobs.enqueue(connection, job, max_attempts=self.max_attempts)
            if on_created is not None:
                on_created(connection, artifact_id, job_id)
        # Returned as inserted: a re-read could already see the worker's result.
        return _artifact(rows[0], tuple(_summary(row) for row in rows[1:]))

    def get(self, visible: Set[str], artifact_id: str) -> Artifact | None:
        """The artifact if one of the `visible` owners owns it (see `Principal`)."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(artifacts).where(
                    artifacts.c.id == artifact_id, artifacts.c.owner_id.in_(visible)
                )
            ).one_or_none()
            return None if row is None else _with_variations(connection, [row._mapping])[0]

    def list(
        self, owner_id: str, *, limit: int, after: str | None
    ) -> tuple[Sequence[Artifact], bool]:
        """One page, variations included (they are artifacts); the variations each
        artifact lists are read for the whole page at once."""
        with self.reads.connect() as connection:
            rows, has_more = newest_first(connection, artifacts, owner_id, limit=limit, after=after)
            return _with_variations(connection, [row._mapping for row in rows]), has_more

    def delete(
        self,
        visible: Set[str],
        artifact_id: str,
        *,
        cascade: Callable[[sa.Connection, str, Sequence[str]], None] | None = None,
    ) -> bool:
        """Remove the artifact, and its variations if it has any (a variation goes
        alone); their job keeps answering with its own state.

        `cascade` runs in the same transaction once the rows are gone, with the
        artifact's owner and the ids removed, for what goes with them
        (`ExportStore.delete_artifact` tombstones their exports there). False,
        changing nothing, if none of the `visible` owners has such an artifact.
        """
        with self.engine.begin() as connection:
            found = connection.execute(
                artifacts.delete()
                .where(artifacts.c.id == artifact_id, artifacts.c.owner_id.in_(visible))
                .returning(artifacts.c.owner_id, artifacts.c.variation)
            ).one_or_none()
            if found is None:
                return False
            owner_id, variation = found
            removed = [artifact_id]
            if variation == 1:
                removed.extend(
                    connection.execute(
                        artifacts.delete()
                        .where(
                            artifacts.c.variation_of == artifact_id,
                            artifacts.c.owner_id == owner_id,
                        )
                        .returning(artifacts.c.id)
                    ).scalars()
                )
            if cascade is not None:
                cascade(connection, owner_id, removed)
        return True

    def generation_plan(self, artifact_id: str) -> GenerationPlan | None:
        """What the job must generate, or None if the artifact was deleted meanwhile."""
        with self.reads.connect() as connection:
            rows = connection.execute(
                sa.select(artifacts.c.id, artifacts.c.variation, artifacts.c.request).where(
                    _family(artifact_id)
                )
            ).all()
        asked = [row.request for row in rows if row.id == artifact_id]
        if not asked:
            return None
        members = {row.variation or 1: row.id for row in rows}
        return GenerationPlan(
            GenerationRequest(**orjson.loads(asked[0])), dict(sorted(members.items()))
        )

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
        found = self.owned_document(artifact_id)
        return None if found is None else found[1]

    def owned_document(self, artifact_id: str) -> tuple[str, Document] | None:
        """(owner id, pages) of the artifact, or None if it has none (or is gone)."""
        with self.reads.connect() as connection:
            row = connection.execute(
                sa.select(artifacts.c.owner_id, artifacts.c.document).where(
                    artifacts.c.id == artifact_id
                )
            ).one_or_none()
        if row is None or row.document is None:
            return None
        return row.owner_id, Document.model_validate_json(row.document)

    def mark_ready(self, connection: sa.Connection, artifact_id: str) -> None:
        """The artifact and its variations, in the transaction that completes their job."""
        connection.execute(
            artifacts.update()
            .where(_family(artifact_id))
            .values(status=READY, updated_at=self.clock.now_ms())
        )

    def mark_failed(self, connection: sa.Connection, artifact_id: str, error: ErrorInfo) -> None:
        """The artifact and its variations, in the transaction that fails their job."""
        connection.execute(
            artifacts.update()
            .where(_family(artifact_id))
            .values(
                status=FAILED,
                error_code=error.code,
                error_message=error.message,
                updated_at=self.clock.now_ms(),
            )
        )


def _family(artifact_id: str) -> sa.ColumnElement[bool]:
    """The artifact and its variations: its primary key or `ix_artifacts_variation_of`."""
    return sa.or_(artifacts.c.id == artifact_id, artifacts.c.variation_of == artifact_id)


def _with_variations(connection: sa.Connection, rows: Sequence[Any]) -> list[Artifact]:
    """The rows as artifacts, each listing its variations: one query for all of them,
    and none when no row has any."""
    asked = [row["id"] for row in rows if row["variation"] == 1]
    found: dict[str, list[VariationSummary]] = {}
    if asked:
        variations = connection.execute(
            sa.select(*_SUMMARY_COLUMNS, artifacts.c.variation_of)
            .where(artifacts.c.variation_of.in_(asked))
            .order_by(artifacts.c.variation)
        )
        for variation in variations:
            found.setdefault(variation.variation_of, []).append(_summary(variation._mapping))
    return [_artifact(row, tuple(found.get(row["id"], ()))) for row in rows]


_SUMMARY_COLUMNS = (
    artifacts.c.id,
    artifacts.c.variation,
    artifacts.c.status,
    artifacts.c.theme_id,
    artifacts.c.page_count,
)


def _summary(row: Any) -> VariationSummary:
    return VariationSummary(
        id=row["id"],
        variation=row["variation"],
        status=row["status"],
        theme_id=row["theme_id"],
        page_count=row["page_count"],
    )


def _artifact(row: Any, variations: tuple[VariationSummary, ...] = ()) -> Artifact:
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
        variation_of=row["variation_of"],
        variation=row["variation"],
        variations=variations,
    )
