"""The resources of `AsyncClient`: the surface of `nxdocs.sdk.resources`, awaited.

Each method is one line: the operation of `nxdocs.sdk.calls`, run by the
async driver. Listings are async iterators (`async for job in
client.jobs.list()`). tests/sdk/test_surface.py checks that every method has
the same signature as its blocking twin.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, Protocol, TypeVar

from nxdocs.sdk.calls import ArtifactCalls, ExportCalls, JobCalls, WebhookEndpointCalls
from nxdocs.sdk.core import Core, Operation
from nxdocs.sdk.models import Artifact, Deleted, Export, Job, WebhookDelivery, WebhookEndpoint
from nxdocs.sdk.operations import NOT_GIVEN, NotGiven, Timestamp
from nxdocs.sdk.resources import WAIT_SECONDS

T = TypeVar("T")


class Runner(Protocol):
    async def run(self, operation: Operation[T]) -> T: ...

    def iterate(self, operation: Operation[None]) -> AsyncIterator[Any]: ...


class Jobs:
    def __init__(self, core: Core, runner: Runner) -> None:
        self._calls = JobCalls(core)
        self._run = runner.run
        self._iterate = runner.iterate

    async def get(self, job_id: str) -> Job:
        """The job as it is now."""
        return await self._run(self._calls.get(job_id))

    async def wait(
        self,
        job_id: str,
        timeout: float | None = WAIT_SECONDS,
        *,
        on_update: Callable[[Job], None] | None = None,
    ) -> Job:
        """The job once completed or failed (a failure is data: see `job.error`);
        `WaitTimeoutError` after `timeout` seconds (None: no limit). `on_update`
        is called with each state seen, at least every half second."""
        return await self._run(self._calls.wait(job_id, timeout, on_update))

    def list(
        self,
        *,
        status: str | None = None,
        type: str | None = None,
        created_after: Timestamp | None = None,
        created_before: Timestamp | None = None,
        limit: int | None = None,
        after: str | None = None,
        org_id: str | None = None,
    ) -> AsyncIterator[Job]:
        """Every job matching the filters, newest first, fetched `limit` (1-100) a page
        as the iteration goes."""
        return self._iterate(
            self._calls.list(
                status=status,
                type=type,
                created_after=created_after,
                created_before=created_before,
                limit=limit,
                after=after,
                org_id=org_id,
            )
        )

    async def cancel(self, job_id: str) -> Job:
        """Cancel a processing job: it ends `failed` with code CANCELLED."""
        return await self._run(self._calls.cancel(job_id))


class Artifacts:
    def __init__(self, core: Core, runner: Runner) -> None:
        self._calls = ArtifactCalls(core)
        self._run = runner.run
        self._iterate = runner.iterate

    async def create(
        self,
        prompt: str | None = None,
        *,
        content: str | None = None,
        type: str | None = None,
        name: str | None = None,
        page_count: int | None = None,
        theme_id: str | None = None,
        brand_id: str | None = None,
        org_id: str | None = None,
        variations: int | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = WAIT_SECONDS,
    ) -> Artifact:
        """Create an artifact and wait until it is ready; `JobFailedError` if it fails."""
        fields: dict[str, object] = {
            "prompt": prompt,
            "content": content,
            "type": type,
            "name": name,
            "page_count": page_count,
            "theme_id": theme_id,
            "brand_id": brand_id,
            "org_id": org_id,
            "variations": variations,
        }
        return await self._run(self._calls.create(fields, idempotency_key, timeout))

    async def create_async(
        self,
        prompt: str | None = None,
        *,
        content: str | None = None,
        type: str | None = None,
        name: str | None = None,
        page_count: int | None = None,
        theme_id: str | None = None,
        brand_id: str | None = None,
        org_id: str | None = None,
        variations: int | None = None,
        idempotency_key: str | None = None,
    ) -> Artifact:
        """Start an artifact: returned `generating`, with the `job_id` to wait for."""
        fields: dict[str, object] = {
            "prompt": prompt,
            "content": content,
            "type": type,
            "name": name,
            "page_count": page_count,
            "theme_id": theme_id,
            "brand_id": brand_id,
            "org_id": org_id,
            "variations": variations,
        }
        return await self._run(self._calls.create_async(fields, idempotency_key))

    async def get(self, artifact_id: str) -> Artifact:
        return await self._run(self._calls.get(artifact_id))

    def list(
        self, *, limit: int | None = None, after: str | None = None, org_id: str | None = None
    ) -> AsyncIterator[Artifact]:
        """Every artifact, newest first, `limit` (1-20) a page."""
        return self._iterate(self._calls.list(limit=limit, after=after, org_id=org_id))

    async def delete(self, artifact_id: str) -> Deleted:
        """Delete the artifact, with its exports and their files."""
        return await self._run(self._calls.delete(artifact_id))


class Exports:
    def __init__(self, core: Core, runner: Runner) -> None:
        self._calls = ExportCalls(core)
        self._run = runner.run

    async def create(
        self,
        artifact_id: str,
        format: str,
        *,
        pages: Sequence[int] | None = None,
        idempotency_key: str | None = None,
        timeout: float | None = WAIT_SECONDS,
    ) -> Export:
        """Export and wait until the file is made; `JobFailedError` if the export fails."""
        return await self._run(
            self._calls.create(artifact_id, format, pages, idempotency_key, timeout)
        )

    async def create_async(
        self,
        artifact_id: str,
        format: str,
        *,
        pages: Sequence[int] | None = None,
        idempotency_key: str | None = None,
    ) -> Export:
        """Start an export: returned `processing`, with the `job_id` to wait for."""
        return await self._run(
            self._calls.create_async(artifact_id, format, pages, idempotency_key)
        )

    async def get(self, export_id: str) -> Export:
        """The export; a completed one with a freshly signed `download_url`."""
        return await self._run(self._calls.get(export_id))

    async def download(
        self, export_id: str, path: str | PathLike[str], *, timeout: float | None = WAIT_SECONDS
    ) -> Path:
        """Stream the export's file to `path` (into it, under the export's file name, if
        it is a directory), waiting for the export first; the path written."""
        return await self._run(self._calls.download(export_id, Path(path), timeout))


class WebhookEndpoints:
    def __init__(self, core: Core, runner: Runner) -> None:
        self._calls = WebhookEndpointCalls(core)
        self._run = runner.run
        self._iterate = runner.iterate

    async def create(
        self,
        url: str,
        events: Sequence[str] = ("job.completed", "job.failed"),
        *,
        description: str | None = None,
        org_id: str | None = None,
    ) -> WebhookEndpoint:
        """A new endpoint, with its signing `secret` (shown in this answer only)."""
        return await self._run(self._calls.create(url, events, description, org_id))

    def list(
        self, *, limit: int | None = None, after: str | None = None, org_id: str | None = None
    ) -> AsyncIterator[WebhookEndpoint]:
        return self._iterate(self._calls.list(limit=limit, after=after, org_id=org_id))

    async def get(self, endpoint_id: str) -> WebhookEndpoint:
        return await self._run(self._calls.get(endpoint_id))

    async def update(
        self,
        endpoint_id: str,
        *,
        url: str | NotGiven = NOT_GIVEN,
        events: Sequence[str] | NotGiven = NOT_GIVEN,
        description: str | NotGiven | None = NOT_GIVEN,
        status: str | NotGiven = NOT_GIVEN,
    ) -> WebhookEndpoint:
        """Change the fields given (`description=None` clears it; `status="enabled"`
        turns a disabled endpoint back on)."""
        return await self._run(
            self._calls.update(
                endpoint_id, url=url, events=events, description=description, status=status
            )
        )

    async def delete(self, endpoint_id: str) -> Deleted:
        return await self._run(self._calls.delete(endpoint_id))

    async def rotate_secret(self, endpoint_id: str) -> WebhookEndpoint:
        """A new `secret`; the old one still signs for the server's overlap (24 h)."""
        return await self._run(self._calls.rotate_secret(endpoint_id))

    def deliveries(
        self,
        endpoint_id: str,
        *,
        status: str | None = None,
        limit: int | None = None,
        after: str | None = None,
    ) -> AsyncIterator[WebhookDelivery]:
        """Every delivery of the endpoint, newest first, with its attempts."""
        return self._iterate(
            self._calls.deliveries(endpoint_id, status=status, limit=limit, after=after)
        )

    async def retry_delivery(self, endpoint_id: str, delivery_id: str) -> WebhookDelivery:
        """Send a delivery again at once."""
        return await self._run(self._calls.retry_delivery(endpoint_id, delivery_id))
