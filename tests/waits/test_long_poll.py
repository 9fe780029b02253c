"""`GET /v1/jobs/{id}?wait=SECONDS` on an in-process API, on SQLite and PostgreSQL.

The servers' fallback poll is longer than every wait here that a change must end,
so an answer in time can only come from the change notification.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

from nxdocs.db.schema import jobs
from tests.support.api import contract_client
from tests.support.contract import NOT_FOUND
from tests.support.waiting import wait_until
from tests.waits.conftest import MakeWaitsApi, WaitsApi
from tests.waits.support import (
    LONG_WAIT,
    SOON,
    Answer,
    User,
    assert_invalid_wait,
    assert_rate_limited,
    long_poll,
    timed_get,
    wait_until_slot_free,
    wait_until_slot_taken,
)


@contextmanager
def background_long_poll(
    api: WaitsApi, job_id: str, user: User, wait: float = LONG_WAIT
) -> Iterator[Future[Answer]]:
    """A long-poll sent on a thread of its own; the block ends after its answer."""
    with (
        contract_client(base_url=api.base_url) as http,
        ThreadPoolExecutor(1) as pool,
    ):
        yield pool.submit(long_poll, http, job_id, user, wait)


def wait_until_waiting(api: WaitsApi, count: int = 1) -> None:
    """Until `count` waits have registered for changes (they hold no connection)."""
    wait_until(lambda: api.changes.waiting == count, timeout=30)


@contextmanager
def raw_wait(api: WaitsApi, job_id: str, user: User) -> Iterator[socket.socket]:
    """A long-poll on a bare socket, closed (the client hangs up) when the block ends."""
    url = urlsplit(api.base_url)
    assert url.hostname is not None
    assert url.port is not None
    request = (
        f"GET /v1/jobs/{job_id}?wait={LONG_WAIT} HTTP/1.1\r\n"
        f"Host: {url.netloc}\r\nAuthorization: Bearer {user.key}\r\n\r\n"
    )
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(request.encode())
        yield sock


def test_a_long_poll_answers_as_soon_as_the_job_completes(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    with background_long_poll(waits_api, job.id, alice) as waiting:
        wait_until_waiting(waits_api)
        # Progress changes the job but does not finish it: the wait goes on.
        job.progress(1, 2)
        # Polls see it once its notification has evicted the cached body (PostgreSQL).
        wait_until(
            lambda: (
                waits_api.http.get(f"/v1/jobs/{job.id}", headers=alice.auth).json()["progress"]
                == {"done": 1, "total": 2}
            ),
            timeout=SOON,
        )
        assert not waiting.done()
        done = time.monotonic()
        job.complete("doc_soon")
        answer = waiting.result(timeout=LONG_WAIT + 30)

    body = answer.job()
    assert body["status"] == "completed", body
    assert body["result"] == {"artifact_id": "doc_soon"}
    assert body["progress"] == {"done": 1, "total": 2}
    assert answer.received - done < SOON, f"answered {answer.received - done:.2f}s after"
    assert "retry-after" not in answer.response.headers
    # Exactly the answer a poll without `wait` gives.
    plain = waits_api.http.get(f"/v1/jobs/{job.id}", headers=alice.auth)
    assert answer.response.content == plain.content
    assert answer.response.headers["content-type"] == plain.headers["content-type"]
    assert waits_api.slots.in_use == 0
    assert waits_api.changes.waiting == 0


def test_a_long_poll_that_runs_out_answers_the_job_as_it_is(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    path = f"/v1/jobs/{job.id}"
    answer = timed_get(waits_api.http, path, params={"wait": "0.3"}, headers=alice.auth)
    plain = waits_api.http.get(path, headers=alice.auth)
    assert answer.took >= 0.3, "it waited the whole wait"
    assert answer.job()["status"] == "processing"
    assert answer.response.content == plain.content
    assert answer.response.headers["retry-after"] == plain.headers["retry-after"] == "1"
    assert waits_api.slots.in_use == 0


def test_a_finished_job_is_answered_at_once(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    job.complete()
    answer = timed_get(
        waits_api.http, f"/v1/jobs/{job.id}", params={"wait": LONG_WAIT}, headers=alice.auth
    )
    assert answer.took < SOON
    assert answer.job()["status"] == "completed"
    assert "retry-after" not in answer.response.headers


def test_wait_zero_answers_at_once(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    path = f"/v1/jobs/{job.id}"
    plain = waits_api.http.get(path, headers=alice.auth)
    for zero in ("0", "0.0", "00.000"):
        answer = timed_get(waits_api.http, path, params={"wait": zero}, headers=alice.auth)
        assert answer.took < SOON
        assert answer.response.content == plain.content
        assert answer.response.headers["retry-after"] == "1"


MALFORMED_WAITS = [
    "wait=61",
    "wait=60.001",
    "wait=-1",
    "wait=1e3",
    "wait=nan",
    "wait=inf",
    "wait=abc",
    "wait=1&wait=1",
    "wait=2&wait=3",
    "wait=",
    "wait",
    "wait=%2B5",
    "wait=1.2345",
    "wait=%00",
    "wait=%ff",
]


def test_a_malformed_wait_is_a_validation_error(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    finished = waits_api.running(alice)
    finished.complete()
    for query in MALFORMED_WAITS:
        for job_id in (job.id, finished.id):
            answer = timed_get(waits_api.http, f"/v1/jobs/{job_id}?{query}", headers=alice.auth)
            assert_invalid_wait(answer.response)
            assert answer.took < SOON, query
    assert waits_api.slots.in_use == 0


def test_unrelated_query_parameters_are_ignored_whatever_their_bytes(
    waits_api: WaitsApi,
) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    path = f"/v1/jobs/{job.id}"
    plain = waits_api.http.get(path, headers=alice.auth).content
    odd = "x=%ff%fe&y=%00&%c3%28=1&z&&=&waiting=99&Wait=abc&q=%"
    assert waits_api.http.get(f"{path}?{odd}", headers=alice.auth).content == plain
    answer = timed_get(waits_api.http, f"{path}?{odd}&wait=0.2", headers=alice.auth)
    assert answer.response.content == plain
    assert answer.took >= 0.2, "the `wait` among them still counts"


def test_a_wait_on_a_job_it_cannot_see_is_404_at_once(waits_api: WaitsApi) -> None:
    alice, bob = waits_api.user("alice"), waits_api.user("bob")
    bobs = waits_api.running(bob)
    for job_id in (bobs.id, "job_abc123def456", "job_bad", "x" * 300):
        answer = timed_get(
            waits_api.http, f"/v1/jobs/{job_id}", params={"wait": LONG_WAIT}, headers=alice.auth
        )
        assert (answer.response.status_code, answer.response.json()) == (404, NOT_FOUND)
        assert answer.took < SOON
    assert waits_api.slots.in_use == 0


def test_a_wait_needs_a_key(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    response = waits_api.http.get(f"/v1/jobs/{job.id}", params={"wait": LONG_WAIT})
    assert response.status_code == 401


def test_waits_beyond_the_owners_cap_are_rate_limited(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(max_waits_per_owner=1)
    alice, bob = api.user("alice"), api.user("bob")
    held, other, done = api.running(alice), api.running(alice), api.running(alice)
    done.complete()
    bobs = api.running(bob)
    with background_long_poll(api, held.id, alice) as waiting:
        wait_until_waiting(api)
        response = api.http.get(f"/v1/jobs/{other.id}", params={"wait": 5}, headers=alice.auth)
        assert_rate_limited(response)
        # Polls without `wait`, and waits that need no waiting, are not counted.
        assert api.http.get(f"/v1/jobs/{other.id}", headers=alice.auth).status_code == 200
        finished = api.http.get(f"/v1/jobs/{done.id}", params={"wait": 5}, headers=alice.auth)
        assert finished.json()["status"] == "completed"
        assert api.http.get(f"/v1/jobs/{other.id}?wait=0", headers=alice.auth).status_code == 200
        # Another owner's cap is their own.
        bobs_wait = timed_get(
            api.http, f"/v1/jobs/{bobs.id}", params={"wait": "0.2"}, headers=bob.auth
        )
        assert bobs_wait.job()["status"] == "processing"
        assert bobs_wait.took >= 0.2
        held.complete()
        assert waiting.result(timeout=LONG_WAIT + 30).job()["status"] == "completed"
    # The slot came back with the answer.
    wait_until_slot_free(api.http, other.id, alice)


def test_waits_beyond_the_process_cap_are_rate_limited(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(max_waits=1)
    alice, bob = api.user("alice"), api.user("bob")
    alices, bobs = api.running(alice), api.running(bob)
    with background_long_poll(api, alices.id, alice) as waiting:
        wait_until_waiting(api)
        response = api.http.get(f"/v1/jobs/{bobs.id}", params={"wait": 5}, headers=bob.auth)
        assert_rate_limited(response)
        alices.complete()
        assert waiting.result(timeout=LONG_WAIT + 30).job()["status"] == "completed"
    wait_until_slot_free(api.http, bobs.id, bob)


def test_a_client_that_hangs_up_frees_its_slot_at_once(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(max_waits_per_owner=1)
    alice = api.user()
    job = api.running(alice)
    with raw_wait(api, job.id, alice):
        wait_until_waiting(api)
        wait_until_slot_taken(api.http, job.id, alice)
    # Hung up: the slot is free long before the wait would have run out.
    wait_until_slot_free(api.http, job.id, alice)
    assert api.changes.waiting == 0
    assert api.slots.in_use == 0
    # And the next wait is served as any other.
    with background_long_poll(api, job.id, alice) as waiting:
        wait_until_waiting(api)
        job.complete()
        assert waiting.result(timeout=LONG_WAIT + 30).job()["status"] == "completed"


def test_a_job_deleted_while_waited_on_is_404(waits_api: WaitsApi) -> None:
    """Retention removes only finished jobs; a row removed by hand stands in for a job
    that finished and was purged before its waiter read it again."""
    alice = waits_api.user()
    job = waits_api.running(alice)
    with background_long_poll(waits_api, job.id, alice) as waiting:
        wait_until_waiting(waits_api)
        with waits_api.system.engine.begin() as connection:
            connection.execute(jobs.delete().where(jobs.c.id == job.id))
            waits_api.system.notifier.job_updated(connection, job.id)
        answer = waiting.result(timeout=LONG_WAIT + 30)
    assert (answer.response.status_code, answer.response.json()) == (404, NOT_FOUND)
    assert answer.took < LONG_WAIT
    assert waits_api.slots.in_use == 0


def test_many_waits_on_one_job_all_answer(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    count = 20
    with (
        contract_client(base_url=waits_api.base_url) as http,
        ThreadPoolExecutor(count) as pool,
    ):
        waiting = [pool.submit(long_poll, http, job.id, alice, LONG_WAIT) for _ in range(count)]
        wait_until_waiting(waits_api, count)
        done = time.monotonic()
        job.complete()
        answers = [future.result(timeout=LONG_WAIT + 30) for future in waiting]
    assert {answer.job()["status"] for answer in answers} == {"completed"}
    assert max(answer.received for answer in answers) - done < SOON
    assert len({answer.response.content for answer in answers}) == 1


def test_the_wait_parameter_is_in_the_openapi_document(waits_api: WaitsApi) -> None:
    schema = waits_api.http.get("/openapi.json").json()
    parameters = schema["paths"]["/v1/jobs/{id}"]["get"]["parameters"]
    (wait,) = [parameter for parameter in parameters if parameter["name"] == "wait"]
    assert wait["in"] == "query"
    assert not wait["required"]
    assert "/v1/jobs/{id}/events" in schema["paths"]
