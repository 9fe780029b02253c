"""Acceptance: the real processes ride out a PostgreSQL restart.

PostgreSQL only. Every process is the real `nxdocs` console script, set up
through NXDOCS_* variables, against the test's own schema; jobs are created
and followed through the HTTP API as a client would. The tests restart the
real local cluster (`pg_ctlcluster ... restart`) while 300 `artifact.create`
jobs are in flight and a client keeps polling.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from tests.support import postgres_cluster
from tests.support.deployment import (
    Deployment,
    Site,
    api_only,
    count_states,
    killed_on_failure,
    start_workers,
    wait_all_succeeded,
)
from tests.support.poll_recorder import PollRecorder
from tests.support.process import nxdocs_serve
from tests.support.waiting import wait_until
from tests.support.worker_processes import WorkerProcesses

pytestmark = [pytest.mark.slow, pytest.mark.serial, pytest.mark.timeout(240)]

JOBS = 300
MORE_JOBS = 50
SAMPLE_EVERY = 15
"""Every 15th job is polled through the restart: 20 jobs."""
ALL_DONE_SECONDS = 60.0
MORE_DONE_SECONDS = 60.0


def markdown(n: int) -> str:
    return f"# Title {n}\n\n---\n\n## Point\n\n- a"


@pytest.fixture
def database_url(postgres_schema_url: str) -> str:
    reason = postgres_cluster.cannot_restart(postgres_schema_url)
    if reason is not None:
        pytest.skip(reason)
    postgres_cluster.ensure_running()
    return postgres_schema_url


# -- jobs through the API and the table ----------------------------------------


Job = tuple[str, str]
"""An artifact's id and the id of its `artifact.create` job."""


def create_artifacts(deployment: Deployment, numbers: range) -> list[Job]:
    """POST /v1/artifacts/async for each number; (artifact id, job id) in order."""

    def create(client: httpx.Client, n: int) -> Job:
        response = client.post("/v1/artifacts/async", json={"content": markdown(n)})
        assert response.status_code == 202, response.text
        body = response.json()
        return body["id"], body["job_id"]

    with deployment.client() as client, ThreadPoolExecutor(8) as pool:
        return list(pool.map(lambda n: create(client, n), numbers))


def assert_completed_through_api(deployment: Deployment, created: list[Job]) -> None:
    """Each job answers `completed` with its artifact, and each artifact is `ready`."""
    with deployment.client() as client:
        for artifact_id, job_id in created:
            job = client.get(f"/v1/jobs/{job_id}")
            assert job.status_code == 200, job.text
            assert (job.json()["status"], job.json()["result"]) == (
                "completed",
                {"artifact_id": artifact_id},
            ), job.text
            artifact = client.get(f"/v1/artifacts/{artifact_id}")
            assert artifact.status_code == 200, artifact.text
            assert artifact.json()["status"] == "ready", artifact.text


# -- A and B: a PostgreSQL restart with 300 jobs in flight ----------------------


def restart_mid_run(deployment: Deployment, reads: sa.Engine, created: list[Job]) -> None:
    """The cluster restarted while `created` run and a client polls; then 50 more jobs.

    The jobs were queued before any worker ran, so the restart comes right after
    the first one finished: nearly all of them are queued or running when it does.
    """
    job_ids = [job_id for _, job_id in created]
    recorder = PollRecorder(deployment.served.base_url, deployment.key, job_ids[::SAMPLE_EVERY])
    restart = postgres_cluster.Restart()
    recorder.start()
    try:
        # The client is polling before the restart, so its answers span before, during, after.
        wait_until(lambda: recorder.answers, timeout=30)
        with postgres_cluster.restored_cluster():
            before = wait_under_way(deployment, reads, job_ids)
            postgres_cluster.restart(restart)
        try:
            wait_all_succeeded(deployment, reads, job_ids, ALL_DONE_SECONDS, "the 300 jobs")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{poll_report(recorder, before)}") from None
    finally:
        recorder.stop()
        marks = {"restart begins": restart.started, "restart ends": restart.finished}
        recorder.write(deployment.served.log.parent / "polls.log", marks)

    assert restart.started is not None
    assert restart.finished is not None
    during = recorder.between(restart.started, restart.finished + 1.0)
    assert during, f"no poll was answered around the restart; {recorder.summary()}"
    assert not recorder.problems(), poll_report(recorder, before)
    assert_completed_through_api(deployment, created)

    more = create_artifacts(deployment, range(JOBS, JOBS + MORE_JOBS))
    wait_all_succeeded(
        deployment, reads, [job_id for _, job_id in more], MORE_DONE_SECONDS, "50 more jobs"
    )
    assert_completed_through_api(deployment, more)
    assert not deployment.exited(), deployment.diagnostics()
    deployment.assert_no_traceback()


def wait_under_way(deployment: Deployment, reads: sa.Engine, job_ids: list[str]) -> dict[str, int]:
    """Jobs by state once the first has succeeded; at least half must still be unfinished."""

    def under_way() -> dict[str, int] | None:
        states = count_states(reads, job_ids)
        return states if states and states.get("succeeded") else None

    try:
        states = wait_until(under_way, timeout=60, interval=0.02)
    except AssertionError:
        raise AssertionError(f"no job finished\n{deployment.diagnostics()}") from None
    unfinished = len(job_ids) - states.get("succeeded", 0)
    assert unfinished >= len(job_ids) // 2, f"not mid-run: {states}; make the jobs slower"
    return states


def poll_report(recorder: PollRecorder, before: dict[str, int]) -> str:
    problems = recorder.problems()
    return (
        f"poll answers: {recorder.summary()}; {len(problems)} bad (jobs by state when the "
        f"restart began: {before}); the first bad ones:\n" + "\n".join(problems[:10])
    )


def test_api_and_two_workers_ride_out_a_postgres_restart(
    site: Site, children: WorkerProcesses, reads: sa.Engine
) -> None:
    with api_only(site) as deployment:
        created = create_artifacts(deployment, range(JOBS))  # queued: no worker runs yet
        deployment.workers = start_workers(children, 2)
        restart_mid_run(deployment, reads, created)
        assert [w.process.poll() for w in deployment.workers] == [None, None]


def test_serve_with_its_embedded_worker_rides_out_a_postgres_restart(
    site: Site, reads: sa.Engine
) -> None:
    # Queued through an API-only process, so the embedded worker finds them all waiting.
    with api_only(site) as loader:
        created = create_artifacts(loader, range(JOBS))
    with nxdocs_serve(site.tmp_path, site.env()) as served, killed_on_failure(served):
        restart_mid_run(Deployment(served, [], site.key), reads, created)
