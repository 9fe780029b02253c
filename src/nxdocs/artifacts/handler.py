"""The `artifact.create` job: generate the pages of the artifact and of each of its
variations, then mark them all ready or all failed."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa

from nxdocs.artifacts.store import ArtifactStore, GenerationPlan
from nxdocs.generate import GeneratedArtifact, LlmGenerator, generate_variations
from nxdocs.generate.errors import GenerationError
from nxdocs.jobs.errors import JobError, LeaseLostError, RetryableJobError
from nxdocs.jobs.handlers import JobContext
from nxdocs.jobs.model import ARTIFACT_CREATE, ClaimedJob, ErrorInfo


class ArtifactCreateHandler:
    """Idempotent: the ids of the artifact and its variations are fixed at create
    time, and a rerun overwrites their pages."""

    type = ARTIFACT_CREATE

    def __init__(self, artifacts: ArtifactStore, llm: LlmGenerator | None) -> None:
        self.artifacts = artifacts
        self.llm = llm

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        """Each variation is stored (fenced) before the next is generated, with a
        check for cancellation in between; with variations, `progress` counts
        their pages."""
        artifact_id = job.payload["artifact_id"]
        plan = self.artifacts.generation_plan(artifact_id)
        if plan is None:
            raise JobError("ARTIFACT_DELETED", "The artifact was deleted before it was generated.")
        progress = _PageProgress(context, len(plan.members)) if len(plan.members) > 1 else None
        for number, generated in self._generations(plan, context):
            context.heartbeat()
            if not self.artifacts.save_generated(context.fence, plan.members[number], generated):
                raise LeaseLostError
            if progress is not None:
                progress.saved(len(generated.document.pages))
        result: dict[str, Any] = {"artifact_id": artifact_id}
        if len(plan.members) > 1:
            # Additive: the contract's result is `{"artifact_id"}`.
            result["variation_ids"] = [plan.members[n] for n in plan.members if n != 1]
        return result

    def _generations(
        self, plan: GenerationPlan, context: JobContext
    ) -> Iterator[tuple[int, GeneratedArtifact]]:
        try:
            yield from generate_variations(
                plan.request, list(plan.members), self.llm, context.check
            )
        except GenerationError as exc:
            failure = RetryableJobError if exc.retryable else JobError
            raise failure(exc.code, exc.message) from exc

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        self.artifacts.mark_ready(connection, job.payload["artifact_id"])

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        self.artifacts.mark_failed(connection, job.payload["artifact_id"], error)


class _PageProgress:
    """Pages stored so far, of the pages all variations will have: the total is
    known once the first is made (later ones are counted as that many pages
    until they are made; only a language model's can differ)."""

    def __init__(self, context: JobContext, variations: int) -> None:
        self.context = context
        self.left = variations
        self.done = 0

    def saved(self, pages: int) -> None:
        self.left -= 1
        self.done += pages
        self.context.report_progress(self.done, self.done + self.left * pages)
