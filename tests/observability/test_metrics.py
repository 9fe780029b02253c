"""`/metrics` of an in-process API: the job counters, the queue read from the
database, lease expiries and requests by route template.

In one process the counters are the process's own, shared by every app a
test makes: each test compares a scrape before with one after.
"""

from __future__ import annotations

import pytest

from nxdocs.api.app import create_app
from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.jobs import database_now_ms, enqueue, expire_lease, set_row, state_of
from tests.support.metrics import Samples, moved, scrape, value
from tests.support.server import checked_client
from tests.support.waiting import wait_until

FINISHED = "nxdocs_jobs_finished_total"


def finished(system: System, job_ids: list[str]) -> bool:
    return all(state_of(system, job_id)["state"] in ("succeeded", "failed") for job_id in job_ids)


def test_job_counters_and_durations_move_as_jobs_run(api_system: System) -> None:
    created = {"type": ARTIFACT_CREATE}
    owner = api_system.keys.create("t").owner_id
    with checked_client(create_app(api_system)) as client:
        before = scrape(client)
        jobs = [enqueue(api_system, owner) for _ in range(3)]
        jobs.append(enqueue(api_system, owner, {"fail_times": 1}))  # a retry, then success
        jobs.append(enqueue(api_system, owner, {"fatal": True}))
        wait_until(lambda: finished(api_system, jobs), timeout=30)

        def counted() -> Samples | None:
            # Counted just after each write commits: a moment after the rows change.
            now = scrape(client)
            ended = [
                moved(before, now, FINISHED, **created, state=s) for s in ("succeeded", "failed")
            ]
            return now if ended == [4, 1] else None

        after = wait_until(counted, timeout=10)
    assert moved(before, after, "nxdocs_job_attempts_total", **created) == 6
    assert moved(before, after, "nxdocs_job_duration_seconds_count", **created) == 6
    assert moved(before, after, "nxdocs_job_retries_total", **created) == 1
    assert moved(before, after, "nxdocs_job_duration_seconds_sum", **created) > 0
    assert value(after, "nxdocs_worker_loops") >= 1


def test_the_queue_is_read_from_the_database(api_system: System) -> None:
    owner = api_system.keys.create("t").owner_id
    due = [enqueue(api_system, owner) for _ in range(2)]
    later = enqueue(api_system, owner, job_type=EXPORT_RUN)
    now = database_now_ms(api_system)
    set_row(api_system, due[0], run_at=now - 5_000)
    set_row(api_system, later, run_at=now + 60_000)
    running = api_system.store.claim("elsewhere", 1, 30)
    assert [job.id for job in running] == [due[0]]
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        samples = scrape(client)
    assert value(samples, "nxdocs_jobs", type=ARTIFACT_CREATE, state="queued") == 1
    assert value(samples, "nxdocs_jobs", type=ARTIFACT_CREATE, state="running") == 1
    assert value(samples, "nxdocs_jobs", type=EXPORT_RUN, state="queued") == 1
    assert value(samples, "nxdocs_queue_depth") == 1  # the export is not due yet
    assert 0 <= value(samples, "nxdocs_queue_oldest_age_seconds") < 5  # the claimed one waited 5


def test_an_empty_queue_reports_zero(api_system: System) -> None:
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        samples = scrape(client)
    assert value(samples, "nxdocs_queue_depth") == 0
    assert value(samples, "nxdocs_queue_oldest_age_seconds") == 0
    assert not [name for name, _ in samples if name == "nxdocs_jobs"]


def test_lease_expiries_are_counted_by_the_reaper(settings: Settings) -> None:
    # A short lease: the reaper runs every half lease.
    system = build_system(settings.model_copy(update={"lease_seconds": 1.0}))
    handlers.install(system)
    try:
        owner = system.keys.create("t").owner_id
        job_id = enqueue(system, owner)
        assert [job.id for job in system.store.claim("vanished", 1, 30)] == [job_id]
        with checked_client(create_app(system)) as client:
            before = scrape(client)
            expire_lease(system, job_id)
            wait_until(lambda: state_of(system, job_id)["state"] == "succeeded", timeout=30)
            after = scrape(client)
        assert moved(before, after, "nxdocs_job_lease_expiries_total") == 1
        # Claimed again and run here once the reaper queued it again.
        assert moved(before, after, "nxdocs_job_attempts_total", type=ARTIFACT_CREATE) == 1
    finally:
        system.close()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_requests_are_counted_by_route_template_never_by_path(api_system: System) -> None:
    key = api_system.keys.create("t").secret
    auth = {"Authorization": f"Bearer {key}"}
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        before = scrape(client)
        assert client.get("/v1/artifacts/doc_unknownzz1", headers=auth).status_code == 404
        assert client.get("/v1/artifacts/doc_unknownzz2").status_code == 401  # before routing
        assert client.get("/v1/jobs/job_unknownzz3", headers=auth).status_code == 404  # poll
        assert client.get("/nowhere/%0Ainjected").status_code == 404
        assert client.request("PROPFIND", "/v1/artifacts", headers=auth).status_code == 405
        after = scrape(client)
    artifact = {"method": "GET", "route": "/v1/artifacts/{id}"}
    assert moved(before, after, "nxdocs_http_responses_total", **artifact, status="404") == 1
    assert moved(before, after, "nxdocs_http_responses_total", **artifact, status="401") == 1
    assert moved(before, after, "nxdocs_http_request_duration_seconds_count", **artifact) == 2
    poll = {"method": "GET", "route": "/v1/jobs/{id}", "status": "404"}
    assert moved(before, after, "nxdocs_http_responses_total", **poll) == 1
    nowhere = {"method": "GET", "route": "unmatched", "status": "404"}
    assert moved(before, after, "nxdocs_http_responses_total", **nowhere) == 1
    webdav = {"method": "other", "route": "/v1/artifacts", "status": "405"}
    assert moved(before, after, "nxdocs_http_responses_total", **webdav) == 1
    label_values = {label for _, labels in after for _, label in labels}
    assert not [text for text in label_values if "unknownzz" in text or "injected" in text]


def test_openapi_documents_the_migrations_check(api_system: System) -> None:
    schema = create_app(api_system, embedded_worker=False).api.openapi()
    checks = schema["components"]["schemas"]["ReadyChecks"]["properties"]
    assert set(checks) == {"database", "migrations", "worker"}
    assert "behind" in checks["migrations"]["enum"]
