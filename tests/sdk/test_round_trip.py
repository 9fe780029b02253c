"""The main round trip, on SQLite and PostgreSQL: create an artifact, export it in the
background, wait for the job, download the PDF; with each client."""

from __future__ import annotations

import asyncio
from pathlib import Path

from pypdf import PdfReader

from nxdocs import AsyncClient, Client
from tests.sdk.servers import DECK
from tests.support.api import ServedApi


def test_the_blocking_client_makes_a_pdf(api: ServedApi, tmp_path: Path) -> None:
    with Client(api.caller("round").key, base_url=f"{api.base_url}/v1") as client:
        artifact = client.artifacts.create(content=DECK)
        started = client.exports.create_async(artifact.id, "pdf")
        assert started.job_id is not None
        job = client.jobs.wait(started.job_id, timeout=60)
        assert job.export_id == started.id
        path = client.exports.download(started.id, tmp_path / "deck.pdf")
        assert [j.id for j in client.jobs.list()] == [started.job_id, artifact.job_id]
    assert len(PdfReader(path).pages) == 3


def test_the_async_client_makes_a_pdf(api: ServedApi, tmp_path: Path) -> None:
    async def scenario() -> Path:
        async with AsyncClient(api.caller("round").key, base_url=api.base_url) as client:
            artifact = await client.artifacts.create(content=DECK)
            export = await client.exports.create(artifact.id, "pdf")
            return await client.exports.download(export.id, tmp_path / "deck.pdf")

    assert len(PdfReader(asyncio.run(scenario())).pages) == 3
