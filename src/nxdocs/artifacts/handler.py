"""The `artifact.create` job: generate the pages, then mark the artifact ready or failed."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from nxdocs.artifacts.store import ArtifactStore
from nxdocs.generate import LlmGenerator, choose_generator
from nxdocs.generate.errors import GenerationError
from nxdocs.jobs.errors import JobError, LeaseLostError, RetryableJobError
from nxdocs.jobs.handlers import JobContext
from nxdocs.jobs.model import ARTIFACT_CREATE, ClaimedJob, ErrorInfo


class ArtifactCreateHandler:
    """Idempotent: the artifact's id is in the payload and a rerun overwrites its pages."""

    type = ARTIFACT_CREATE

    def __init__(self, artifacts: ArtifactStore, llm: LlmGenerator | None) -> None:
        self.artifacts = artifacts
        self.llm = llm

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        artifact_id = job.payload["artifact_id"]
        request = self.artifacts.generation_request(artifact_id)
        if request is None:
            raise JobError("ARTIFACT_DELETED", "The artifact was deleted before it was generated.")
        try:
            generated = choose_generator(request, self.llm).generate(request, context.check)
        except GenerationError as exc:
            failure = RetryableJobError if exc.retryable else JobError
            raise failure(exc.code, exc.message) from exc
        context.heartbeat()
        if not self.artifacts.save_generated(context.fence, artifact_id, generated):
            raise LeaseLostError
        return {"artifact_id": artifact_id}

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        self.artifacts.mark_ready(connection, job.payload["artifact_id"])

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        self.artifacts.mark_failed(connection, job.payload["artifact_id"], error)
