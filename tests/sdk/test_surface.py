"""The SDK's surface: configuration, the two clients' twin methods, a light import,
and no key in any repr."""

from __future__ import annotations

import inspect
import subprocess
import sys

import pytest

from nxdocs import AsyncClient, Client
from nxdocs.sdk import Job, async_resources, resources


def test_configuration_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NXDOCS_BASE_URL", "https://docs.example.com/v1/")
    monkeypatch.setenv("NXDOCS_API_KEY", "nxd_from_the_environment")
    client = Client()
    assert client.base_url == "https://docs.example.com"
    assert "nxd_from_the_environment" not in repr(client)
    assert "nxd_from_the_environment" not in repr(vars(client))
    assert Client("nxd_other", base_url="http://h:1").base_url == "http://h:1"
    assert AsyncClient().base_url == "https://docs.example.com"


def test_without_a_base_url_the_local_default_server_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NXDOCS_API_KEY", "nxd_key")
    assert Client().base_url == "http://127.0.0.1:8000"


@pytest.mark.parametrize("name", ["Jobs", "Artifacts", "Exports", "WebhookEndpoints"])
def test_the_async_resources_have_the_blocking_ones_signatures(name: str) -> None:
    blocking = getattr(resources, name)
    awaited = getattr(async_resources, name)
    methods = {m for m in vars(blocking) if not m.startswith("_")}
    assert methods == {m for m in vars(awaited) if not m.startswith("_")}
    for method in methods:
        plain = inspect.signature(getattr(blocking, method))
        twin = inspect.signature(getattr(awaited, method))
        assert plain.parameters == twin.parameters, method
        assert str(plain.return_annotation).removeprefix("Async") == str(
            twin.return_annotation
        ).removeprefix("Async"), method


def test_importing_the_sdk_loads_no_server() -> None:
    code = (
        "import sys\n"
        "from nxdocs import AsyncClient, Client\n"
        "loaded = [m for m in sys.modules if m.split('.')[0] in "
        "{'fastapi', 'sqlalchemy', 'starlette', 'uvicorn', 'weasyprint'}"
        " or m.startswith(('nxdocs.api', 'nxdocs.jobs', 'nxdocs.db'))]\n"
        "print(loaded)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"


def test_fields_a_newer_server_adds_are_kept() -> None:
    job = Job.model_validate(
        {
            "id": "job_abc123def456",
            "object": "job",
            "type": "export.run",
            "status": "completed",
            "result": {"export_id": "exp_abc"},
            "error": None,
            "created_at": "2026-01-15T10:30:00.000Z",
            "updated_at": "2026-01-15T10:30:01.250Z",
            "attempts": 2,
        }
    )
    assert job.model_extra == {"attempts": 2}
    assert job.export_id == "exp_abc"
    assert job.model_dump(mode="json")["updated_at"] == "2026-01-15T10:30:01.250Z"
