"""`AsyncClient`: the same operations, awaited, against the real server."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from pypdf import PdfReader

from nxdocs import AsyncClient
from nxdocs.sdk import JobFailedError, NotFoundError, WaitTimeoutError
from tests.sdk.servers import DECK
from tests.support.api import ServedApi


def test_create_export_wait_and_download(served: ServedApi, tmp_path: Path) -> None:
    async def scenario() -> tuple[str, str, int]:
        async with AsyncClient(served.caller("async").key, base_url=served.base_url) as client:
            artifact = await client.artifacts.create(content=DECK)
            started = await client.exports.create_async(artifact.id, "pdf", pages=[2])
            assert started.job_id is not None
            job = await client.jobs.wait(started.job_id, timeout=60)
            export = await client.exports.get(started.id)
            path = await client.exports.download(export.id, tmp_path / "deck.pdf")
            return job.status, export.status, len(PdfReader(path).pages)

    assert asyncio.run(scenario()) == ("completed", "completed", 1)


def test_lists_are_async_iterators_over_every_page(idle: ServedApi) -> None:
    async def scenario() -> tuple[list[str], list[str], list[str]]:
        async with AsyncClient(idle.caller("async").key, base_url=idle.base_url) as client:
            made = [(await client.artifacts.create_async(content=DECK)) for _ in range(3)]
            jobs = [job.id async for job in client.jobs.list(limit=2)]
            artifacts = [artifact.id async for artifact in client.artifacts.list(limit=2)]
            return [str(a.job_id) for a in made][::-1], jobs, artifacts

    expected_jobs, jobs, artifacts = asyncio.run(scenario())
    assert jobs == expected_jobs
    assert len(artifacts) == 3


def test_get_cancel_delete_and_their_errors(idle: ServedApi) -> None:
    async def scenario() -> None:
        async with AsyncClient(idle.caller("async").key, base_url=idle.base_url) as client:
            artifact = await client.artifacts.create_async(content=DECK)
            assert artifact.job_id is not None
            assert (await client.artifacts.get(artifact.id)).id == artifact.id
            assert (await client.jobs.get(artifact.job_id)).status == "processing"
            with pytest.raises(WaitTimeoutError):
                await client.jobs.wait(artifact.job_id, timeout=0.2)
            assert (await client.jobs.cancel(artifact.job_id)).status == "failed"
            assert (await client.artifacts.delete(artifact.id)).deleted
            with pytest.raises(NotFoundError):
                await client.artifacts.get(artifact.id)

    asyncio.run(scenario())


def test_a_failed_export_raises_job_failed(served: ServedApi) -> None:
    async def scenario() -> str:
        async with AsyncClient(served.caller("async").key, base_url=served.base_url) as client:
            artifact = await client.artifacts.create(content=DECK)
            with pytest.raises(JobFailedError) as raised:
                await client.exports.create(artifact.id, "google-slides")
            return raised.value.code

    assert asyncio.run(scenario()) == "GOOGLE_AUTH_REQUIRED"


def test_webhook_endpoints(served: ServedApi) -> None:
    async def scenario() -> None:
        async with AsyncClient(served.caller("async").key, base_url=served.base_url) as client:
            endpoint = await client.webhook_endpoints.create("http://127.0.0.1:9/hook")
            assert [e.id async for e in client.webhook_endpoints.list()] == [endpoint.id]
            assert (await client.webhook_endpoints.get(endpoint.id)).url == endpoint.url
            updated = await client.webhook_endpoints.update(endpoint.id, status="disabled")
            assert updated.status == "disabled"
            assert (await client.webhook_endpoints.rotate_secret(endpoint.id)).secret
            assert [d async for d in client.webhook_endpoints.deliveries(endpoint.id)] == []
            assert (await client.webhook_endpoints.delete(endpoint.id)).deleted

    asyncio.run(scenario())
