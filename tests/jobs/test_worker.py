"""The worker loop end to end in one process, on both databases, with real time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nxdocs.jobs.model import JobState, JobView
from nxdocs.jobs.runner import WorkerThread
from nxdocs.jobs.worker import Worker
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support import handlers
from tests.support.jobs import enqueue, state_of
from tests.support.waiting import wait_until


@pytest.fixture
def live(settings: Settings) -> Iterator[System]:
    """A system on the real clock, with scripted handlers and a running worker."""
    system = build_system(settings)
    handlers.install(system)
    handlers.RELEASE.clear()
    system.start_listening()
    worker = WorkerThread(Worker(system.store, system.registry, system.worker_config()))
    worker.start()
    yield system
    handlers.RELEASE.set()
    worker.stop(timeout=30)
    system.close()


@pytest.fixture
def owner(live: System) -> str:
    return live.keys.create("test").owner_id


def finished(system: System, job_id: str, owner: str) -> JobView:
    def terminal() -> JobView | None:
        view = system.store.get(job_id, owner)
        return view if view is not None and view.state.is_terminal else None

    return wait_until(terminal)


def run(system: System, owner: str, payload: dict[str, Any]) -> JobView:
    return finished(system, enqueue(system, owner, payload), owner)


def test_job_runs_to_completion(live: System, owner: str) -> None:
    view = run(live, owner, {"artifact_id": "doc_1", "steps": 3})
    assert view.state is JobState.SUCCEEDED
    assert view.result == {"artifact_id": "doc_1"}
    assert (view.progress_done, view.progress_total, view.attempts) == (3, 3, 1)


def test_transient_failures_are_retried_with_backoff(live: System, owner: str) -> None:
    job_id = enqueue(live, owner, {"fail_times": 2})
    view = finished(live, job_id, owner)
    assert view.state is JobState.SUCCEEDED
    assert view.attempts == 3


def test_always_failing_job_gives_up_after_max_attempts(live: System, owner: str) -> None:
    view = run(live, owner, {"always_fail": True})
    assert view.state is JobState.FAILED
    assert view.attempts == live.settings.max_attempts
    assert view.error is not None
    assert view.error.code == "ATTEMPTS_EXHAUSTED"
    assert "3 attempts" in view.error.message
    assert "FLAKY" in view.error.message


def test_permanent_error_is_not_retried(live: System, owner: str) -> None:
    view = run(live, owner, {"fatal": True})
    assert view.state is JobState.FAILED
    assert view.attempts == 1
    assert view.error is not None
    assert view.error.code == "GENERATION_FAILED"


def test_unexpected_exception_shows_only_a_safe_message(
    live: System, owner: str, caplog: pytest.LogCaptureFixture
) -> None:
    view = run(live, owner, {"crash": True})
    assert view.error is not None
    assert "INTERNAL_ERROR" in view.error.message
    assert "secret internal detail" not in view.error.message
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "ValueError at" in logged
    assert "secret internal detail" not in logged
    assert "Traceback" not in caplog.text


def test_failure_hook_runs_with_the_terminal_state(live: System, owner: str) -> None:
    job_id = enqueue(live, owner, {"fatal": True})
    finished(live, job_id, owner)
    with live.engine.connect() as connection:
        codes = connection.execute(handlers.failures.select()).all()
    assert [(row.job_id, row.code) for row in codes] == [(job_id, "GENERATION_FAILED")]


def test_many_jobs_each_complete_exactly_once(live: System, owner: str) -> None:
    ids = [enqueue(live, owner, {"n": n}) for n in range(50)]
    for job_id in ids:
        assert finished(live, job_id, owner).state is JobState.SUCCEEDED
    with live.engine.connect() as connection:
        done = [row.job_id for row in connection.execute(handlers.completions.select())]
    assert sorted(done) == sorted(ids)


def test_stop_releases_jobs_that_outlast_the_grace_period(settings: Settings) -> None:
    system = build_system(settings.model_copy(update={"shutdown_grace_seconds": 0.2}))
    handlers.install(system)
    handlers.RELEASE.clear()
    owner_id = system.keys.create("t").owner_id
    worker = WorkerThread(Worker(system.store, system.registry, system.worker_config()))
    worker.start()
    try:
        job_id = enqueue(system, owner_id, {"block_attempts": 1})
        wait_until(lambda: state_of(system, job_id)["state"] == "running")
        worker.stop(timeout=30)
        row = state_of(system, job_id)
        assert (row["state"], row["worker_id"], row["attempts"]) == ("queued", None, 0)
    finally:
        handlers.RELEASE.set()
        system.close()
