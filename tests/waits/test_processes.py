"""Waiting across processes: the real `nxdocs serve --no-worker`, with the job changed by
another process (a real `nxdocs worker`, or this test acting as one), on SQLite and
PostgreSQL; and a thousand long-polls against one API process on PostgreSQL.

The API's fallback poll is longer than the longest wait, so every answer in time
comes from the change notification: LISTEN/NOTIFY on PostgreSQL, the file watch
on SQLite.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

import httpx
import psycopg
import pytest
from sqlalchemy.engine import make_url

from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.conftest import POSTGRES_URL
from tests.support import handlers
from tests.support.api import contract_client
from tests.support.contract import timestamp_ms, validate_job
from tests.support.deployment import SETTINGS, settings_env
from tests.support.jobs import enqueue
from tests.support.process import Served, nxdocs_serve
from tests.support.worker_processes import NXDOCS_WORKER, WorkerProcesses
from tests.waits.support import (
    SOON,
    EventStream,
    User,
    claim_all,
    long_poll,
    stream_client,
    wait_until_slot_taken,
)

pytestmark = pytest.mark.slow

API_FALLBACK_SECONDS = 120.0
"""The API process's fallback poll: longer than the longest wait (60 s)."""
WAIT = 60
"""The longest wait there is: a worker process's start-up fits in it many times over."""
DECK = {"content": "# Waited for\n\n---\n\n## One\n\n- a point\n\n---\n\n## Two\n\n- another"}


def api_env(database_url: str, data_dir: Path, **extra: float | int | str) -> dict[str, str]:
    return settings_env(database_url, data_dir, poll_interval_seconds=API_FALLBACK_SECONDS, **extra)


def new_user(database_url: str, data_dir: Path) -> User:
    """A key of a new owner, made on the (migrated) database before any process starts."""
    system = build_system(Settings(database_url=database_url, data_dir=data_dir))
    try:
        created = system.keys.create("waits", new_owner=True)
    finally:
        system.close()
    return User(created.owner_id, created.secret)


def assert_clean(served: Served) -> None:
    output = served.output()
    assert "Traceback" not in output, output[-6000:]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def workers(database_url: str, data_dir: Path, tmp_path: Path) -> Iterator[WorkerProcesses]:
    """Real `nxdocs worker` processes on the test's database; killed at the end."""
    with closing(
        WorkerProcesses(tmp_path, database_url, data_dir, command=NXDOCS_WORKER, **SETTINGS)
    ) as started:
        yield started


def test_a_long_poll_answers_soon_after_a_worker_process_finishes_the_job(
    database_url: str, data_dir: Path, tmp_path: Path, workers: WorkerProcesses
) -> None:
    user = new_user(database_url, data_dir)
    env = api_env(database_url, data_dir, max_waits_per_owner=1)
    with (
        nxdocs_serve(tmp_path, env, "--no-worker") as served,
        contract_client(base_url=served.base_url) as http,
        contract_client(base_url=served.base_url) as waiter,
        ThreadPoolExecutor(1) as pool,
    ):
        created = http.post("/v1/artifacts/async", json=DECK, headers=user.auth)
        assert created.status_code == 202, created.text
        job_id = created.json()["job_id"]
        waiting = pool.submit(long_poll, waiter, job_id, user, WAIT)
        wait_until_slot_taken(http, job_id, user)  # the long-poll is waiting
        workers.start()  # no worker ran until now: the job is still queued
        answer = waiting.result(timeout=WAIT + 30)
        plain = http.get(f"/v1/jobs/{job_id}", headers=user.auth)
        assert_clean(served)
    workers.assert_no_traceback()

    body = answer.job()
    assert body["status"] == "completed", body
    assert body["result"]["artifact_id"] == created.json()["id"]
    finished = timestamp_ms(body["updated_at"]) / 1000
    assert answer.received_wall - finished < SOON, (
        f"answered {answer.received_wall - finished:.2f}s after the job finished"
    )
    assert answer.took < WAIT
    assert "retry-after" not in answer.response.headers
    assert answer.response.content == plain.content


@pytest.fixture
def writer(database_url: str, data_dir: Path) -> Iterator[System]:
    """This test's own system on the site's database: a process other than the API's,
    which claims jobs and reports their progress as a worker would."""
    system = build_system(Settings(database_url=database_url, data_dir=data_dir))
    handlers.install(system)
    yield system
    system.close()


def test_events_follow_changes_made_by_another_process(
    database_url: str, data_dir: Path, tmp_path: Path, writer: System
) -> None:
    created = writer.keys.create("events", new_owner=True)
    user = User(created.owner_id, created.secret)
    job_id = enqueue(writer, user.owner_id, {})
    job = claim_all(writer)[job_id]
    env = api_env(database_url, data_dir)
    with (
        nxdocs_serve(tmp_path, env, "--no-worker") as served,
        stream_client(served.base_url) as http,
        http.stream("GET", f"/v1/jobs/{job_id}/events", headers=user.auth) as response,
    ):
        # Each change waits for the event of the one before; the stream's reads time
        # out long before the API's fallback poll.
        stream = EventStream(response)
        received = [stream.next_event()]
        for done in (1, 2):
            job.progress(done, 2)
            received.append(stream.next_event_soon())
        job.complete("doc_elsewhere")
        received.append(stream.next_event_soon())
        assert stream.rest() == []
        assert_clean(served)

    bodies = [event.job() for event in received]
    assert [(body["status"], body["progress"]) for body in bodies] == [
        ("processing", None),
        ("processing", {"done": 1, "total": 2}),
        ("processing", {"done": 2, "total": 2}),
        ("completed", {"done": 2, "total": 2}),
    ]
    assert bodies[-1]["result"] == {"artifact_id": "doc_elsewhere"}
    assert len({event.id for event in received}) == len(received)


# -- a thousand waits, a few connections ----------------------------------------

WAITS = 1_000
JOBS = 20
CONNECTION_CEILING = 10 + 10 + 8 + 1
"""What one API process may hold whatever its load: the engine's pool (10, plus 10
overflow; `nxdocs.db.engine`), the poll reader's connections (8;
`PostgresJobReader`) and the notifier's listening connection."""


@pytest.fixture
def own_database() -> Iterator[tuple[str, str]]:
    """A database of the test's own (name, URL): pg_stat_activity counts only its
    connections, not those of tests running beside it in other schemas."""
    name = f"waits_{uuid.uuid4().hex[:12]}"
    admin_url = make_url(POSTGRES_URL).set(drivername="postgresql")
    admin = admin_url.render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    url = make_url(POSTGRES_URL).set(database=name).render_as_string(hide_password=False)
    yield name, url
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def connections_to(name: str) -> int:
    """Sessions connected to database `name` now (this query's own is elsewhere)."""
    admin = make_url(POSTGRES_URL).set(drivername="postgresql")
    with psycopg.connect(admin.render_as_string(hide_password=False)) as connection:
        row = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (name,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def early_end(waits: list[asyncio.Future[httpx.Response]]) -> str | None:
    """How the first wait that has ended ended, or None while every one is open."""
    for wait in waits:
        if wait.done():
            error = wait.exception()
            return repr(error) if error else f"{wait.result()} {wait.result().text}"
    return None


async def thousand_waits(
    base_url: str, user: User, job_ids: list[str], database: str, finish: Callable[[], None]
) -> tuple[list[int], list[httpx.Response]]:
    """Open `WAITS` long-polls over `job_ids`; count the database's connections while
    they are all waiting; then finish the jobs (half cancelled through the API, the
    rest by `finish`, in another process). The counts, and every long-poll's answer."""
    # A connection per request: none is reused just as the server closes it for being
    # idle (a race of HTTP keep-alive itself, seen on a loaded machine).
    fresh = httpx.Limits(max_connections=WAITS + 10, max_keepalive_connections=0)
    async with httpx.AsyncClient(
        base_url=base_url, headers=user.auth, limits=fresh, timeout=WAIT + 60
    ) as client:

        async def wait_on(job_id: str) -> httpx.Response:
            while True:  # a 429 only when it met a probe in the last slot
                response = await client.get(f"/v1/jobs/{job_id}", params={"wait": WAIT})
                if response.status_code != 429:
                    return response

        waits = [asyncio.ensure_future(wait_on(job_ids[n % JOBS])) for n in range(WAITS)]
        async with httpx.AsyncClient(
            base_url=base_url, headers=user.auth, limits=fresh, timeout=30
        ) as other:

            async def all_waiting() -> bool:
                # The owner's cap is WAITS: one more wait is refused once every one is in.
                probe = await other.get(f"/v1/jobs/{job_ids[0]}", params={"wait": "0.001"})
                assert probe.status_code in (200, 429), probe.text
                return probe.status_code == 429

            deadline = time.monotonic() + 120
            while not await all_waiting():
                assert early_end(waits) is None, f"a wait ended early: {early_end(waits)}"
                assert time.monotonic() < deadline, "the waits never all got their slots"
                await asyncio.sleep(0.05)

        counts = [await asyncio.to_thread(connections_to, database) for _ in range(3)]
        assert early_end(waits) is None, f"a wait ended while counted: {early_end(waits)}"

        async with httpx.AsyncClient(
            base_url=base_url, headers=user.auth, limits=fresh, timeout=30
        ) as other:
            for job_id in job_ids[: JOBS // 2]:
                cancelled = await other.post(f"/v1/jobs/{job_id}/cancel")
                assert cancelled.status_code == 200, cancelled.text
        await asyncio.to_thread(finish)
        answers = await asyncio.wait_for(asyncio.gather(*waits), timeout=WAIT + 30)
    return counts, answers


@pytest.mark.timeout(300)
def test_a_thousand_long_polls_hold_a_few_database_connections(
    own_database: tuple[str, str], tmp_path: Path
) -> None:
    database, url = own_database
    data_dir = tmp_path / "data"
    # The test's process is the worker (with the real handlers' hooks): it claims the
    # jobs before the waits begin and completes half of them once they are counted.
    writer = build_system(Settings(database_url=url, data_dir=data_dir))
    try:
        created = writer.keys.create("waits", new_owner=True)
        user = User(created.owner_id, created.secret)
        env = api_env(url, data_dir, max_waits_per_owner=WAITS)
        with nxdocs_serve(tmp_path, env, "--no-worker") as served:
            with contract_client(base_url=served.base_url, headers=user.auth) as http:
                job_ids = []
                for _ in range(JOBS):
                    made = http.post("/v1/artifacts/async", json=DECK)
                    assert made.status_code == 202, made.text
                    job_ids.append(made.json()["job_id"])
            running = claim_all(writer)
            assert set(running) == set(job_ids)
            writer.engine.dispose()  # none of this process's connections is counted

            def complete_the_rest() -> None:
                for job_id in job_ids[JOBS // 2 :]:
                    running[job_id].complete(running[job_id].job.payload["artifact_id"])

            try:
                counts, answers = asyncio.run(
                    thousand_waits(served.base_url, user, job_ids, database, complete_the_rest)
                )
            except AssertionError as failed:
                log = served.output()[-4000:]
                raise AssertionError(f"{failed}\n--- nxdocs serve ---\n{log}") from None
            assert_clean(served)
    finally:
        writer.close()

    assert min(counts) >= 2, f"the count sees the API's connections at all: {counts}"
    assert max(counts) <= CONNECTION_CEILING, f"connections while {WAITS} waited: {counts}"

    cancelled = set(job_ids[: JOBS // 2])
    assert {answer.status_code for answer in answers} == {200}, {
        answer.status_code: answer.text for answer in answers
    }
    outcomes: dict[str, set[tuple[str, str | None]]] = {}
    for body in {answer.content: answer.json() for answer in answers}.values():
        validate_job(body)
        error = body["error"]["code"] if body["error"] else None
        outcomes.setdefault(body["id"], set()).add((body["status"], error))
    assert set(outcomes) == set(job_ids)
    for job_id, seen in outcomes.items():
        expected = ("failed", "CANCELLED") if job_id in cancelled else ("completed", None)
        assert seen == {expected}, (job_id, seen)
