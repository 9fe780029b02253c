"""Deliveries are rows, not memory: stopping every process between attempts loses no
event. The real `nxdocs serve` on SQLite and PostgreSQL, and (PostgreSQL, where API and
workers are separate processes in production) an API with `nxdocs worker` processes,
started and stopped as an operator would (SIGTERM)."""

from __future__ import annotations

import re
import signal
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from nxdocs.db.schema import webhook_deliveries
from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.api import MakeApi
from tests.support.deployment import HTTP_TIMEOUT, killed_on_failure, settings_env
from tests.support.process import nxdocs_serve
from tests.support.waiting import wait_until
from tests.support.worker_processes import nxdocs_workers
from tests.webhooks.receiver import Receiver, status
from tests.webhooks.support import DECK, ENDPOINTS, WEBHOOK_SETTINGS, completed_job, verified

pytestmark = pytest.mark.slow


def create_key(database_url: str, data_dir: Path) -> str:
    """Migrate the empty schema and make a key, in this process (a process less to start)."""
    system = build_system(Settings(database_url=database_url, data_dir=data_dir))
    try:
        return system.keys.create("t", new_owner=True).secret
    finally:
        system.close()


def delivery_rows(database_url: str) -> dict[str, dict[str, Any]]:
    """job_id -> its delivery row, read by the test itself after every process stopped."""
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(sa.select(webhook_deliveries)).all()
    finally:
        engine.dispose()
    return {row.job_id: dict(row._mapping) for row in rows}


class Client:
    """The API's client with the site's key, and the waits of these tests."""

    def __init__(self, base_url: str, key: str) -> None:
        self.http = httpx.Client(
            base_url=base_url, headers={"Authorization": f"Bearer {key}"}, timeout=HTTP_TIMEOUT
        )

    def close(self) -> None:
        self.http.close()

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = self.http.request(method, path, **kwargs)
        assert response.status_code < 300, response.text
        body: dict[str, Any] = response.json()
        return body

    def completed_job(self) -> str:
        job_id: str = self.ok("POST", "/v1/artifacts/async", json=DECK)["job_id"]
        job = wait_until(
            lambda: (
                (found := self.ok("GET", f"/v1/jobs/{job_id}"))["status"] != "processing" and found
            ),
            timeout=60,
        )
        assert job["status"] == "completed", job
        return job_id

    def delivery(self, endpoint_id: str, job_id: str, status: str, attempts: int) -> None:
        def reached() -> bool:
            listed = self.ok("GET", f"{ENDPOINTS}/{endpoint_id}/deliveries")["data"]
            return any(
                d["job_id"] == job_id and d["status"] == status and len(d["attempts"]) >= attempts
                for d in listed
            )

        wait_until(reached, timeout=60, interval=0.1)


@pytest.mark.parametrize("database_url", ["sqlite", "postgres"], indirect=True)
def test_restarting_nxdocs_serve_between_attempts_loses_no_event(
    database_url: str, tmp_path: Path, receiver: Receiver
) -> None:
    data_dir = tmp_path / "data"
    key = create_key(database_url, data_dir)
    env = settings_env(database_url, data_dir, **WEBHOOK_SETTINGS)
    receiver.always(status(500))

    with (
        nxdocs_serve(tmp_path, env) as served,
        killed_on_failure(served),
        closing(Client(served.base_url, key)) as client,
    ):
        created = client.ok(
            "POST", ENDPOINTS, json={"url": receiver.url, "events": ["job.completed"]}
        )
        before = client.completed_job()
        client.delivery(created["id"], before, "pending", attempts=1)
        # The receiver goes down; a job ends meanwhile, and its event cannot be sent.
        receiver.stop()
        while_down = client.completed_job()
        client.delivery(created["id"], while_down, "pending", attempts=1)
    # A clean stop: uvicorn ends by re-raising the SIGTERM, once the worker has stopped.
    assert served.process.returncode in (0, -signal.SIGTERM), served.output()
    assert re.search(r"worker \S+ stopped", served.output()), served.output()
    assert "Traceback" not in served.output()

    rows = delivery_rows(database_url)
    assert {job_id: row["state"] for job_id, row in rows.items()} == {
        before: "pending",
        while_down: "pending",
    }
    failed_before = len(receiver.received())
    assert failed_before >= 1
    receiver.always(status(200))
    receiver.start()

    with (
        nxdocs_serve(tmp_path, env) as served,
        killed_on_failure(served),
        closing(Client(served.base_url, key)) as client,
    ):
        client.delivery(created["id"], before, "delivered", attempts=2)
        client.delivery(created["id"], while_down, "delivered", attempts=2)
        assert "Traceback" not in served.output()

    requests = receiver.received()
    sent = {
        job_id: [r for r in requests if r.webhook_id == row["id"]] for job_id, row in rows.items()
    }
    assert len(sent[before]) == failed_before + 1  # each attempt before the stop, and the one after
    assert len(sent[while_down]) == 1  # never reached the receiver until it was back
    for job_id, attempts in sent.items():
        assert len({r.body for r in attempts}) == 1
        assert verified(created["secret"], attempts[-1])["data"]["id"] == job_id


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_restarting_the_worker_process_between_attempts_loses_no_event(
    make_api: MakeApi, tmp_path: Path, receiver: Receiver
) -> None:
    api = make_api(embedded_worker=False)
    alice = api.caller("alice")
    receiver.always(status(500))
    created = alice.post(ENDPOINTS, json={"url": receiver.url, "events": ["job.completed"]}).json()

    with nxdocs_workers(api.system.settings, tmp_path, **WEBHOOK_SETTINGS) as workers:
        first = workers.start_ready()[0]
        job_id = completed_job(alice)
        workers.wait_for(
            lambda: any(
                len(d["attempts"]) >= 1
                for d in alice.ok(f"{ENDPOINTS}/{created['id']}/deliveries")["data"]
            ),
            "a failed attempt",
        )
        assert workers.signal_and_wait(first, signal.SIGTERM) == 0
        (row,) = delivery_rows(api.system.settings.resolved_database_url()).values()
        assert row["state"] == "pending"
        failed_before = len(receiver.received())

        receiver.always(status(200))
        workers.start_ready()
        workers.wait_for(
            lambda: (
                alice.ok(f"{ENDPOINTS}/{created['id']}/deliveries/{row['id']}")["status"]
                == "delivered"
            ),
            "the delivery after the restart",
        )
        workers.stop_all()
        workers.assert_no_traceback()

    requests = receiver.received()
    assert len(requests) == failed_before + 1
    assert {r.webhook_id for r in requests} == {row["id"]}
    assert verified(created["secret"], requests[-1])["data"]["id"] == job_id
