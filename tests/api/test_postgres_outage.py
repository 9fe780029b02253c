"""The real PostgreSQL restarts under a polling client: every answer is 200 or a clean 503.

The server is restarted with `pg_ctlcluster` (and always started again in a
`finally`). Three kinds of request are polled: the poll route with a cached
key (so it reads through `PostgresJobReader`), a FastAPI route, and the poll
route with an unknown key (so auth looks the key up in the database).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from nxdocs.api.app import create_app
from nxdocs.auth.keys import generate_key
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.conftest import POSTGRES_URL
from tests.support import postgres_cluster
from tests.support.contract import check_response
from tests.support.jobs import enqueue
from tests.support.server import serving
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.serial]

UNAVAILABLE = {
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "The service is temporarily unavailable; try again shortly.",
    }
}


def pg_ctlcluster(action: str) -> None:
    done = postgres_cluster.control(action)
    assert done.returncode == 0, f"pg_ctlcluster {action}: {done.stderr}"


accepting = postgres_cluster.is_ready


@contextmanager
def restored_postgres() -> Iterator[None]:
    """Whatever happens inside, PostgreSQL is up again afterwards."""
    reason = postgres_cluster.cannot_restart(os.environ.get("TEST_POSTGRES_URL", POSTGRES_URL))
    if reason is not None:
        pytest.skip(reason)
    with postgres_cluster.restored_cluster():
        yield


@dataclass
class Polls:
    """The three kinds of request, each with the statuses it may answer when all is well."""

    http: httpx.Client
    job_id: str
    key: str

    def round(self) -> dict[str, httpx.Response]:
        known = {"Authorization": f"Bearer {self.key}"}
        unknown = {"Authorization": f"Bearer {generate_key()}"}
        return {
            "poll": self.http.get(f"/v1/jobs/{self.job_id}", headers=known),
            "framework": self.http.get("/v1/artifacts", headers=known),
            "auth lookup": self.http.get(f"/v1/jobs/{self.job_id}", headers=unknown),
        }


HEALTHY = {"poll": 200, "framework": 200, "auth lookup": 401}


def healthy(answers: dict[str, httpx.Response]) -> bool:
    return all(answers[kind].status_code == status for kind, status in HEALTHY.items())


def assert_clean(kind: str, response: httpx.Response) -> None:
    """200 (401 for the unknown key) or the contract's 503; never a 500."""
    if response.status_code == 503:
        assert response.json() == UNAVAILABLE, kind
        assert response.headers["retry-after"] == "2", kind
    else:
        assert response.status_code == HEALTHY[kind], (kind, response.status_code, response.text)


@pytest.fixture
def postgres_system(postgres_schema_url: str, tmp_path: Path) -> Iterator[System]:
    # Keys stay cached through the restart, so the poll route reaches the reader.
    settings = Settings(database_url=postgres_schema_url, data_dir=tmp_path, auth_cache_seconds=60)
    system = build_system(settings)
    yield system
    system.close()


@pytest.fixture
def polls(postgres_system: System) -> Iterator[Polls]:
    key = postgres_system.keys.create("restart")
    job_id = enqueue(postgres_system, key.owner_id)
    with (
        serving(create_app(postgres_system, embedded_worker=False)) as base_url,
        httpx.Client(
            base_url=base_url, event_hooks={"response": [check_response]}, timeout=30
        ) as http,
    ):
        polls = Polls(http, job_id, key.secret)
        for _ in range(20):  # the reader keeps connections that the restart will kill
            assert healthy(polls.round())
        yield polls


def test_polls_during_a_restart_answer_200_or_503(polls: Polls) -> None:
    answers: list[tuple[str, httpx.Response]] = []
    failures: list[BaseException] = []
    stop = threading.Event()

    def poll_forever() -> None:
        try:
            while not stop.is_set():
                answers.extend(polls.round().items())
        except BaseException as exc:  # a contract violation or a dropped connection
            failures.append(exc)

    poller = threading.Thread(target=poll_forever, name="restart-poller")
    poller.start()
    try:
        with restored_postgres():
            pg_ctlcluster("restart")
        wait_until(lambda: healthy(polls.round()), timeout=15)
    finally:
        stop.set()
        poller.join(timeout=30)
    assert not failures, failures
    assert len(answers) > 30
    for kind, response in answers:
        assert_clean(kind, response)


def statuses(answers: dict[str, httpx.Response]) -> dict[str, int]:
    for kind, response in answers.items():
        assert_clean(kind, response)
    return {kind: response.status_code for kind, response in answers.items()}


def test_polls_recover_at_once_after_a_restart_and_are_503_while_it_is_down(
    polls: Polls,
) -> None:
    with restored_postgres():
        pg_ctlcluster("restart")  # returns once the new server accepts connections
        wait_until(accepting, timeout=60, interval=0.1)
        # The reader's kept connections died with the old server: the first poll
        # finds one broken and is answered from a fresh connection, not a 503.
        assert statuses(polls.round()) == HEALTHY
        pg_ctlcluster("stop")
        # The cache stops serving once the change listener has lost its connection.
        wait_until(lambda: polls.round()["poll"].status_code == 503, timeout=10)
        for _ in range(3):
            assert set(statuses(polls.round()).values()) == {503}
        ready = polls.http.get("/readyz")
        assert (ready.status_code, ready.json()["error"]["code"]) == (503, "NOT_READY")
        pg_ctlcluster("start")
        wait_until(accepting, timeout=60, interval=0.1)
        assert statuses(polls.round()) == HEALTHY
        assert polls.http.get("/readyz").status_code == 200
