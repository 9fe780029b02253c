"""`/readyz` and `/metrics`: readiness of the database and the embedded worker, and the gauges."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from nxdocs.api.app import NxdocsApp, create_app
from nxdocs.api.readiness import DatabaseProbe
from nxdocs.auth.keys import generate_key
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.api.test_jobs_route import owner_of
from tests.support.jobs import enqueue
from tests.support.server import checked_client, free_port
from tests.support.waiting import wait_until

READY = {
    "ok": True,
    "service": "nxdocs",
    "checks": {"database": "ok", "migrations": "ok", "worker": "ok"},
}
UNAVAILABLE = {
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "The service is temporarily unavailable; try again shortly.",
    }
}


def metrics(client: httpx.Client) -> dict[str, float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        sample.name: sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def wait_ready(client: httpx.Client) -> httpx.Response:
    """The embedded worker starts on its own thread, just after the server does."""
    return wait_until(lambda: (r := client.get("/readyz")).status_code == 200 and r, timeout=10)


def test_ready_with_the_embedded_worker(client: httpx.Client) -> None:
    response = wait_ready(client)
    assert response.json() == READY
    assert "retry-after" not in response.headers


def test_not_ready_once_the_embedded_worker_stopped(client: httpx.Client, app: NxdocsApp) -> None:
    wait_ready(client)
    worker = app.api.state.services.readiness.worker
    assert worker is not None
    worker.stop()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "NOT_READY",
            "message": "Not ready: worker stopped.",
            "details": [{"field": "worker", "message": "stopped"}],
        }
    }
    assert metrics(client)["nxdocs_worker_alive"] == 0


def test_an_api_only_process_is_ready_without_a_worker(api_system: System) -> None:
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        response = client.get("/readyz")
        assert response.status_code == 200
        assert response.json()["checks"] == {
            "database": "ok",
            "migrations": "ok",
            "worker": "not running here",
        }
        assert "nxdocs_worker_alive" not in metrics(client)


def test_not_ready_when_the_sqlite_file_is_gone(tmp_path: Path) -> None:
    """Permissions cannot make a file unreadable to root, so the file is moved away."""
    database = tmp_path / "nxdocs.db"
    system = build_system(Settings(database_url=f"sqlite:///{database}", data_dir=tmp_path))
    try:
        with checked_client(create_app(system, embedded_worker=False)) as client:
            assert client.get("/readyz").status_code == 200
            database.rename(tmp_path / "moved.db")
            response = client.get("/readyz")
        assert response.status_code == 503
        assert response.json()["error"] == {
            "code": "NOT_READY",
            "message": "Not ready: database failed.",
            "details": [{"field": "database", "message": "failed"}],
        }
    finally:
        system.close()


def test_unreachable_postgres_is_not_ready_and_every_route_answers_503(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nxdocs"
    settings = Settings(database_url=closed, data_dir=tmp_path, signing_secret="s" * 32)
    system = build_system(settings, migrate=False)
    key = {"Authorization": f"Bearer {generate_key()}"}
    try:
        with checked_client(create_app(system, embedded_worker=False)) as client:
            ready = client.get("/readyz")
            answers = [
                client.get("/v1/jobs/job_abc123def456", headers=key),  # the poll route
                client.get("/v1/artifacts", headers=key),  # FastAPI, behind AuthMiddleware
                client.post("/v1/artifacts/async", headers=key, json={"prompt": "x"}),
            ]
            health = client.get("/health")
    finally:
        system.close()
    assert ready.status_code == 503
    assert ready.json()["error"]["code"] == "NOT_READY"
    assert ready.json()["error"]["message"] == "Not ready: database failed."
    for response in answers:
        assert (response.status_code, response.json()) == (503, UNAVAILABLE)
        assert response.headers["retry-after"] == "2"
    assert health.status_code == 200
    assert "database unavailable on GET /v1/jobs/job_abc123def456" in caplog.text
    assert "Traceback" not in caplog.text
    assert "SELECT" not in caplog.text


def test_metrics_report_the_poll_cache_and_the_worker(
    client: httpx.Client, api_system: System, key: str, auth: dict[str, str]
) -> None:
    wait_ready(client)
    before = metrics(client)
    assert before["nxdocs_poll_cache_entries"] == 0
    assert before["nxdocs_poll_cache_bytes"] == 0
    assert before["nxdocs_worker_alive"] == 1
    job_id = enqueue(api_system, owner_of(api_system, key), {"block_attempts": 1})

    def cached() -> dict[str, float] | None:
        # On PostgreSQL the cache fills once the change listener is connected.
        assert client.get(f"/v1/jobs/{job_id}", headers=auth).status_code == 200
        now = metrics(client)
        return now if now["nxdocs_poll_cache_entries"] == 1 else None

    after = wait_until(cached, timeout=10)
    assert 300 < after["nxdocs_poll_cache_bytes"] < 1024


def test_each_app_has_its_own_metrics_registry(app: NxdocsApp, api_system: System) -> None:
    other = create_app(api_system, embedded_worker=False)
    assert app.api.state.services.metrics is not other.api.state.services.metrics
    assert app.api.state.services.metrics is not REGISTRY
    assert REGISTRY.get_sample_value("nxdocs_poll_cache_entries") is None


def test_openapi_documents_readiness_metrics_and_the_503(app: NxdocsApp) -> None:
    paths = app.api.openapi()["paths"]
    assert set(paths["/readyz"]["get"]["responses"]) == {"200", "500", "503"}  # 500: a bug
    assert "text/plain" in paths["/metrics"]["get"]["responses"]["200"]["content"]
    assert "503" in paths["/v1/jobs/{id}"]["get"]["responses"]
    assert "503" in paths["/v1/artifacts"]["post"]["responses"]
    assert "503" not in paths["/health"]["get"]["responses"]


def test_a_hung_database_times_out_and_takes_one_thread_at_most(
    postgres_schema_url: str, tmp_path: Path
) -> None:
    system = build_system(Settings(database_url=postgres_schema_url, data_dir=tmp_path))
    probe = DatabaseProbe(system.engine, system.database, timeout_seconds=0.3)
    try:
        with system.engine.connect() as locker:
            locker.execute(sa.text("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE"))
            assert asyncio.run(probe.check()) == "timed out"  # its read waits for the lock
            started = time.monotonic()
            assert asyncio.run(probe.check()) == "timed out"  # no second thread waits
            assert time.monotonic() - started < 0.2
            locker.rollback()
        # The abandoned probe gets its answer once the lock is gone; then probes run again.
        wait_until(lambda: asyncio.run(probe.check()) == "ok", timeout=10)
    finally:
        system.close()
