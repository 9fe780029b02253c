"""`GET /v1/jobs/{id}/events` on an in-process API, on SQLite and PostgreSQL.

Each change is made only after the event of the one before has arrived, so
every state is seen, in order; the event of a change must arrive within `SOON`,
far below the servers' fallback poll, so it can only come from the change
notification.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx

from nxdocs.api.app import create_app
from nxdocs.api.deps import Services
from tests.support.contract import NOT_FOUND
from tests.support.waiting import wait_until
from tests.waits.conftest import MakeWaitsApi, WaitsApi
from tests.waits.support import (
    SOON,
    EventStream,
    User,
    assert_error,
    assert_rate_limited,
    stream_client,
    wait_until_slot_free,
    wait_until_slot_taken,
)

EVENT = "job.updated"
QUICK_KEEPALIVE = 0.2


@contextmanager
def events(
    api: WaitsApi, job_id: str, user: User, last_event_id: str | None = None
) -> Iterator[EventStream]:
    """The job's event stream; the connection is closed when the block ends."""
    headers = dict(user.auth)
    if last_event_id is not None:
        headers["Last-Event-ID"] = last_event_id
    with (
        stream_client(api.base_url) as http,
        http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers) as response,
    ):
        yield EventStream(response)


def polled(api: WaitsApi, job_id: str, user: User) -> bytes:
    """The job's body as `GET /v1/jobs/{id}` shows it now."""
    response = api.http.get(f"/v1/jobs/{job_id}", headers=user.auth)
    assert response.status_code == 200
    return response.content


def assert_released(api: WaitsApi) -> None:
    """The stream's wait slot and its watch are given back (at once, not at a timeout)."""
    wait_until(lambda: api.slots.in_use == 0 and api.changes.waiting == 0, timeout=SOON)


def test_events_show_processing_each_progress_then_completed_and_end(
    waits_api: WaitsApi,
) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    with events(waits_api, job.id, alice) as stream:
        assert stream.response.headers["cache-control"] == "no-store"
        received = [stream.next_event()]
        assert received[0].data.encode() == polled(waits_api, job.id, alice), "as polled"
        for done in (1, 2, 3):
            job.progress(done, 3)
            received.append(stream.next_event_soon())
        job.complete("doc_streamed")
        received.append(stream.next_event_soon())
        assert stream.rest() == [], "nothing after the finished state, and the stream ends"
    bodies = [event.job() for event in received]
    assert [body["status"] for body in bodies] == ["processing"] * 4 + ["completed"]
    assert [body["progress"] for body in bodies] == [
        None,
        {"done": 1, "total": 3},
        {"done": 2, "total": 3},
        {"done": 3, "total": 3},
        {"done": 3, "total": 3},
    ]
    assert bodies[-1]["result"] == {"artifact_id": "doc_streamed"}
    assert received[-1].data.encode() == polled(waits_api, job.id, alice)
    assert {event.event for event in received} == {EVENT}
    ids = [event.id for event in received]
    assert all(ids), ids
    assert len(set(ids)) == len(ids), ids
    assert_released(waits_api)


def test_a_reconnect_with_last_event_id_gets_no_repeat(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(events_keepalive_seconds=QUICK_KEEPALIVE)
    alice = api.user()
    job = api.running(alice)
    with events(api, job.id, alice) as stream:
        processing = stream.next_event()
        job.progress(1, 3)
        one_of_three = stream.next_event_soon()
    assert one_of_three.job()["progress"] == {"done": 1, "total": 3}

    # Back with the last id while the job is still as it was: nothing is sent until
    # it changes (keep-alive comments meanwhile), then only the change.
    with events(api, job.id, alice, last_event_id=one_of_three.id) as stream:
        stream.next_comment()
        stream.next_comment()
        job.progress(2, 3)
        two_of_three = stream.next_event_soon()
        assert two_of_three.job()["progress"] == {"done": 2, "total": 3}
        job.complete()
        completed = stream.next_event_soon()
        assert completed.job()["status"] == "completed"
        assert stream.rest() == []

    # Back after the end: with the last id, nothing at all; with an older one, the end.
    with events(api, job.id, alice, last_event_id=completed.id) as stream:
        assert stream.rest() == []
    with events(api, job.id, alice, last_event_id=processing.id) as stream:
        assert stream.rest() == [completed]
    with events(api, job.id, alice, last_event_id="not-an-id-it-sent") as stream:
        assert stream.rest() == [completed]
    assert_released(api)


def test_a_quiet_stream_gets_keep_alive_comments(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(events_keepalive_seconds=QUICK_KEEPALIVE)
    alice = api.user()
    job = api.running(alice)
    with events(api, job.id, alice) as stream:
        assert stream.next_event().job()["status"] == "processing"
        comments = [stream.next_comment() for _ in range(3)]
        assert all(comment.startswith("ping") for comment in comments), comments
        job.complete()
        assert stream.next_event_soon().job()["status"] == "completed"
        assert stream.rest() == []


def test_a_finished_job_streams_its_state_once_and_ends(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    job.progress(1, 1)
    job.complete()
    with events(waits_api, job.id, alice) as stream:
        (only,) = stream.rest()
    assert only.event == EVENT
    assert only.data.encode() == polled(waits_api, job.id, alice)
    assert_released(waits_api)


def test_events_of_a_job_the_caller_cannot_see_are_404(waits_api: WaitsApi) -> None:
    alice, bob = waits_api.user("alice"), waits_api.user("bob")
    bobs = waits_api.running(bob)
    with stream_client(waits_api.base_url) as http:
        for job_id in (bobs.id, "job_abc123def456", "job_bad", "doc_abc123def456", "x" * 300):
            response = http.get(f"/v1/jobs/{job_id}/events", headers=alice.auth)
            assert (response.status_code, response.json()) == (404, NOT_FOUND), job_id
        assert http.get(f"/v1/jobs/{bobs.id}/events").status_code == 401
        # Bob sees his own.
        with http.stream("GET", f"/v1/jobs/{bobs.id}/events", headers=bob.auth) as response:
            assert EventStream(response).next_event().job()["id"] == bobs.id
    assert_released(waits_api)


def test_an_overlong_last_event_id_is_a_validation_error(waits_api: WaitsApi) -> None:
    alice = waits_api.user()
    job = waits_api.running(alice)
    with stream_client(waits_api.base_url) as http:
        response = http.get(
            f"/v1/jobs/{job.id}/events", headers={**alice.auth, "Last-Event-ID": "a" * 65}
        )
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert [detail["field"] for detail in body["error"]["details"]] == ["last-event-id"], body
    assert waits_api.slots.in_use == 0


def test_streams_beyond_the_owners_cap_are_rate_limited(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(max_waits_per_owner=1)
    alice = api.user()
    job = api.running(alice)
    with events(api, job.id, alice) as stream:
        stream.next_event()
        with stream_client(api.base_url) as http:
            response = http.get(f"/v1/jobs/{job.id}/events", headers=alice.auth)
            assert_rate_limited(response)
        # A long-poll counts against the same cap.
        wait_until_slot_taken(api.http, job.id, alice)
    # A stream the client closes gives its slot back at once.
    wait_until_slot_free(api.http, job.id, alice)
    assert_released(api)
    with events(api, job.id, alice) as stream:
        assert stream.next_event().job()["status"] == "processing"


def test_a_stream_closed_before_its_first_event_frees_its_slot(
    make_waits_api: MakeWaitsApi,
) -> None:
    api = make_waits_api(max_waits_per_owner=1)
    alice = api.user()
    job = api.running(alice)
    with (
        stream_client(api.base_url) as http,
        http.stream("GET", f"/v1/jobs/{job.id}/events", headers=alice.auth) as response,
    ):
        assert response.status_code == 200  # closed with only the headers read
    wait_until_slot_free(api.http, job.id, alice)
    assert_released(api)


def test_a_head_request_opens_no_stream_and_holds_no_slot(make_waits_api: MakeWaitsApi) -> None:
    api = make_waits_api(max_waits_per_owner=1)
    alice = api.user()
    job = api.running(alice)
    for _ in range(3):
        response = httpx.head(f"{api.base_url}/v1/jobs/{job.id}/events", headers=alice.auth)
        assert response.status_code == 405  # the route is GET only
    assert_released(api)
    with events(api, job.id, alice) as stream:
        assert stream.next_event().job()["status"] == "processing"


def test_a_stream_whose_first_send_fails_frees_its_slot(waits_api: WaitsApi) -> None:
    """An ASGI server may raise from `send` once the client is gone (ASGI 2.4 servers
    raise OSError; uvicorn drops the message), before the stream's first event.

    The app is called directly on an event loop of the test's own: a second app on
    the same system, so nothing of the served one's loop is used from another."""
    alice = waits_api.user()
    job = waits_api.running(alice)
    app = create_app(waits_api.system, embedded_worker=False)
    services: Services = app.api.state.services
    path = f"/v1/jobs/{job.id}/events"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"authorization", f"Bearer {alice.key}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if not sent:
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # the server noticed nothing yet
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        raise OSError("the client is gone")

    async def call() -> None:
        reader = services.lookup.reader
        await reader.open()
        try:
            with contextlib.suppress(OSError):
                await asyncio.wait_for(app(scope, receive, send), timeout=SOON)
        finally:
            await reader.close()

    try:
        asyncio.run(call())
    finally:
        services.waits.changes.unsubscribe()
    assert sent, "the app answered"
    assert sent[0]["status"] == 200
    assert services.wait_slots.in_use == 0
    assert services.waits.changes.waiting == 0
