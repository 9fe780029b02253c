"""`nxdocs export --format google-slides` against a server that makes Google Slides.

nxdocs has no Google account and fails these exports (tests/sdk/test_cli_commands.py);
the hosted API completes them with a presentation in the owner's Drive and no file.
A small local server answers as the hosted API does for that one export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from typer.testing import CliRunner

from nxdocs.cli import app
from tests.support.server import serving

STAMP = "2026-12-04T10:00:00Z"
PRESENTATION = "1AbCdEfGhIjKlMnOp"
EXPORT = {
    "id": "exp_slides",
    "object": "export",
    "artifact_id": "doc_deck",
    "format": "google-slides",
    "created_at": STAMP,
    "updated_at": STAMP,
    "job_id": "job_slides",
}


async def create_async(_request: Request) -> JSONResponse:
    return JSONResponse({**EXPORT, "status": "processing"}, status_code=202)


async def get_job(_request: Request) -> JSONResponse:
    result = {"export_id": EXPORT["id"]}
    job = {"id": "job_slides", "object": "job", "type": "export.run", "status": "completed"}
    return JSONResponse({**job, "result": result, "created_at": STAMP, "updated_at": STAMP})


async def get_export(_request: Request) -> JSONResponse:
    completed = {"status": "completed", "google_slides_presentation_id": PRESENTATION}
    return JSONResponse({**EXPORT, **completed})


async def no_file(_request: Request) -> JSONResponse:
    return JSONResponse({"error": {"code": "NOT_FOUND", "message": "No file."}}, status_code=404)


HOSTED = Starlette(
    routes=[
        Route("/v1/exports/async", create_async, methods=["POST"]),
        Route("/v1/jobs/job_slides", get_job),
        Route("/v1/exports/exp_slides", get_export),
        Route("/v1/exports/exp_slides/download", no_file),
    ]
)


@pytest.fixture(scope="module")
def hosted_url() -> Iterator[str]:
    with serving(HOSTED) as base_url:
        yield base_url


def export(hosted_url: str, *args: str) -> tuple[int, str]:
    env = {"NXDOCS_BASE_URL": hosted_url, "NXDOCS_API_KEY": "nxd_hosted"}
    result = CliRunner().invoke(app, ["export", "doc_deck", "-f", "google-slides", *args], env=env)
    return result.exit_code, result.stdout


def test_a_completed_google_slides_export_names_its_presentation(hosted_url: str) -> None:
    code, printed = export(hosted_url)
    assert code == 0
    assert f"Google Slides presentation: {PRESENTATION}" in printed


def test_its_json_is_the_export(hosted_url: str) -> None:
    code, printed = export(hosted_url, "--json")
    assert code == 0
    assert json.loads(printed)["google_slides_presentation_id"] == PRESENTATION
