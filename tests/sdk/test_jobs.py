"""`client.jobs`: get, wait (long-poll, and plain polls when the server refuses the wait),
list with auto-pagination and filters, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from nxdocs import Client
from nxdocs.sdk import ConflictError, Job, NotFoundError, WaitTimeoutError
from tests.sdk.servers import DECK, idle_database
from tests.support.api import MakeApi, ServedApi


def test_get_and_wait_follow_a_job_to_its_end(client: Client) -> None:
    started = client.artifacts.create_async(content=DECK)
    assert started.job_id is not None
    job = client.jobs.get(started.job_id)
    assert (job.id, job.type, job.object) == (started.job_id, "artifact.create", "job")
    seen: list[Job] = []
    finished = client.jobs.wait(started.job_id, timeout=60, on_update=seen.append)
    assert finished.status == "completed"
    assert finished.artifact_id == started.id
    assert finished.export_id is None
    assert seen[-1] == finished


def test_wait_times_out_on_a_job_that_stays_processing(idle_client: Client) -> None:
    job_id = idle_client.artifacts.create_async(content=DECK).job_id
    assert job_id is not None
    with pytest.raises(WaitTimeoutError) as raised:
        idle_client.jobs.wait(job_id, timeout=0.3)
    assert raised.value.job.status == "processing"
    assert isinstance(raised.value, TimeoutError)


def test_list_pages_through_every_job_newest_first(idle_client: Client) -> None:
    made = [idle_client.artifacts.create_async(content=DECK).job_id for _ in range(5)]
    listed = [job.id for job in idle_client.jobs.list(limit=2)]
    assert listed == made[::-1]
    after_third = [job.id for job in idle_client.jobs.list(limit=2, after=made[2])]
    assert after_third == made[1::-1]


def test_list_filters_by_status_type_and_time(idle_client: Client) -> None:
    kept = idle_client.artifacts.create_async(content=DECK).job_id
    cancelled = idle_client.artifacts.create_async(content=DECK).job_id
    assert kept is not None
    assert cancelled is not None
    idle_client.jobs.cancel(cancelled)
    failed = list(idle_client.jobs.list(status="failed", type="artifact.create"))
    assert [job.id for job in failed] == [cancelled]
    assert list(idle_client.jobs.list(type="export.run")) == []
    hour = timedelta(hours=1)
    now = datetime.now(UTC)
    assert len(list(idle_client.jobs.list(created_after=now - hour))) == 2
    assert list(idle_client.jobs.list(created_before=(now - hour).isoformat())) == []


def test_cancel_fails_the_job_and_a_second_cancel_conflicts(idle_client: Client) -> None:
    job_id = idle_client.artifacts.create_async(content=DECK).job_id
    assert job_id is not None
    cancelled = idle_client.jobs.cancel(job_id)
    assert cancelled.status == "failed"
    assert cancelled.error is not None
    assert cancelled.error.code == "CANCELLED"
    with pytest.raises(ConflictError) as raised:
        idle_client.jobs.cancel(job_id)
    assert (raised.value.status_code, raised.value.code) == (409, "CONFLICT")


def test_get_of_an_unknown_job_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as raised:
        client.jobs.get("job_doesnotexist")
    assert raised.value.code == "NOT_FOUND"
    assert raised.value.message == "The requested resource was not found."


class Recording(httpx.HTTPTransport):
    """The real transport, noting each request's query and answer's status."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[str, int]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        self.seen.append((request.url.query.decode(), response.status_code))
        return response


def test_wait_polls_plainly_when_the_server_refuses_another_long_poll(
    module_make_api: MakeApi, tmp_path: Path
) -> None:
    """One wait per owner: while an event stream of the owner holds it, the SDK's
    long-poll is refused (429) and it polls plainly, as Retry-After says."""
    served: ServedApi = module_make_api(max_waits_per_owner=1, **idle_database(tmp_path))
    caller = served.caller("one-wait")
    recording = Recording()
    with Client(caller.key, base_url=served.base_url, transport=recording) as client:
        polled = client.artifacts.create_async(content=DECK).job_id
        assert polled is not None
        events = f"{served.base_url}/v1/jobs/{polled}/events"
        # A plain client: the contract-checked one reads whole bodies, and a stream has no end.
        with httpx.stream("GET", events, headers=caller.auth, timeout=10) as stream:
            # Its first event (id, event, data lines) has come: the stream holds the place.
            lines = stream.iter_lines()
            assert [next(lines).split(":")[0] for _ in range(3)] == ["id", "event", "data"]
            recording.seen.clear()
            with pytest.raises(WaitTimeoutError):
                client.jobs.wait(polled, timeout=1.5)
    refused, *polls = recording.seen
    assert refused[0].startswith("wait=")
    assert refused[1] == 429
    assert polls
    assert all(poll == ("", 200) for poll in polls)
    # Retry-After is 1 s: about two polls in 1.5 s, not a busy loop.
    assert len(polls) <= 3
