"""`client.exports`: create (waits), create_async, get, download (streamed to disk)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from pypdf import PdfReader

from nxdocs import Client
from nxdocs.sdk import Artifact, JobFailedError
from tests.sdk.servers import DECK


@pytest.fixture
def deck(client: Client) -> Artifact:
    return client.artifacts.create(content=DECK)


def test_create_waits_for_the_file_and_download_streams_it(
    client: Client, deck: Artifact, tmp_path: Path
) -> None:
    export = client.exports.create(deck.id, "pdf", pages=[1, 2])
    assert (export.status, export.format, export.pages_exported) == ("completed", "pdf", 2)
    assert export.download_url is not None
    written = client.exports.download(export.id, tmp_path / "deck.pdf")
    assert written == tmp_path / "deck.pdf"
    assert len(PdfReader(written).pages) == 2
    assert [path.name for path in tmp_path.iterdir()] == ["deck.pdf"]  # no part file left


def test_create_async_then_get_then_download_into_a_folder(
    client: Client, deck: Artifact, tmp_path: Path
) -> None:
    started = client.exports.create_async(deck.id, "png")
    assert started.status == "processing"
    assert started.job_id is not None
    # download waits for the export's job itself.
    written = client.exports.download(started.id, tmp_path)
    shown = client.exports.get(started.id)
    assert shown.status == "completed"
    assert shown.file_name is not None
    assert written == tmp_path / shown.file_name
    with zipfile.ZipFile(written) as pages:
        assert pages.namelist() == ["page-001.png", "page-002.png", "page-003.png"]


def test_an_export_that_fails_raises_job_failed(client: Client, deck: Artifact) -> None:
    with pytest.raises(JobFailedError) as raised:
        client.exports.create(deck.id, "google-slides")
    failed = raised.value
    assert failed.code == "GOOGLE_AUTH_REQUIRED"
    assert failed.resource.status == "failed"
    assert failed.job_id == failed.resource.job_id
