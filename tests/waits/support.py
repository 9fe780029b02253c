"""Helpers of the waiting tests: a reader of server-sent events as they arrive, a
long-poll that keeps its arrival time, a job driven by hand, and a probe of the
wait slots that works against any server, in-process or not.

Time bounds here are deadlines for something that should happen at once, set
far below what the broken behaviour would take (the wait running out, the
fallback poll): a slow machine never fails them, a lost wake-up always does.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from nxdocs.jobs.model import ClaimedJob
from nxdocs.system import System
from tests.support.contract import validate_error, validate_job
from tests.support.waiting import wait_until

FALLBACK_SECONDS = 30.0
"""The servers' fallback poll (`poll_interval_seconds`): longer than any wait a test
expects to end early, so only a change notification can end it in time."""
LONG_WAIT = 25
"""`wait` of the long-polls that a change must end: under the fallback poll."""
SOON = 5.0
"""An answer that should come at once must come within this: far below `LONG_WAIT`."""
STREAM_READ_TIMEOUT = 10.0
"""A stream read that gets nothing for this long fails the test instead of hanging it."""


@dataclass(frozen=True)
class User:
    owner_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@dataclass(frozen=True)
class Answer:
    response: httpx.Response
    sent: float
    """time.monotonic() when the request was sent."""
    received: float
    """time.monotonic() when the whole answer had arrived."""
    received_wall: float
    """time.time() at the same moment, to compare with the job's `updated_at`."""

    @property
    def took(self) -> float:
        return self.received - self.sent

    def job(self) -> dict[str, Any]:
        assert self.response.status_code == 200, self.response.text
        body: dict[str, Any] = self.response.json()
        validate_job(body)
        return body


def timed_get(
    http: httpx.Client, path: str, *, params: Any = None, headers: dict[str, str] | None = None
) -> Answer:
    sent = time.monotonic()
    response = http.get(path, params=params, headers=headers)
    return Answer(response, sent, time.monotonic(), time.time())


def long_poll(http: httpx.Client, job_id: str, user: User, wait: float) -> Answer:
    """`GET /v1/jobs/{id}?wait=`, sent again while it answers 429: the tests that use it
    probe the wait slots meanwhile (see `slot_is_taken`), and a probe may hold the
    only slot for a moment."""
    deadline = time.monotonic() + 60
    while True:
        answer = timed_get(http, f"/v1/jobs/{job_id}", params={"wait": wait}, headers=user.auth)
        if answer.response.status_code != 429 or time.monotonic() > deadline:
            return answer


def slot_is_taken(http: httpx.Client, job_id: str, user: User) -> bool:
    """True if `user` has no wait slot free: a one-millisecond wait on the processing
    job `job_id` answers 429. (When a slot is free, the probe holds it for that
    millisecond; `long_poll` retries if it met the probe there.)"""
    response = http.get(f"/v1/jobs/{job_id}", params={"wait": "0.001"}, headers=user.auth)
    if response.status_code == 429:
        assert_rate_limited(response)
        return True
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "processing", "the probe needs a processing job"
    return False


def wait_until_slot_taken(http: httpx.Client, job_id: str, user: User) -> None:
    wait_until(lambda: slot_is_taken(http, job_id, user), timeout=30, interval=0.01)


def wait_until_slot_free(http: httpx.Client, job_id: str, user: User) -> None:
    """Until a wait of `user` gets a slot again; fails well before a held wait would end."""
    wait_until(lambda: not slot_is_taken(http, job_id, user), timeout=SOON, interval=0.01)


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    validate_error(body)
    assert body["error"]["code"] == code, body
    return body


def assert_rate_limited(response: httpx.Response) -> None:
    body = assert_error(response, 429, "RATE_LIMITED")
    assert "wait" in body["error"]["message"], body
    assert response.headers["retry-after"] == "1"


def assert_invalid_wait(response: httpx.Response) -> None:
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert [detail["field"] for detail in body["error"]["details"]] == ["wait"], body
    assert all(detail["message"] for detail in body["error"]["details"]), body


class Running:
    """A job claimed by hand, as a worker would: its progress and end are the test's."""

    def __init__(self, system: System, job: ClaimedJob, worker_id: str) -> None:
        self.system = system
        self.job = job
        self.worker_id = worker_id

    @property
    def id(self) -> str:
        return self.job.id

    def progress(self, done: int, total: int) -> None:
        assert self.system.store.report_progress(self.job, self.worker_id, done, total)

    def complete(self, artifact_id: str = "doc_waited") -> None:
        assert self.system.store.complete(self.job, self.worker_id, {"artifact_id": artifact_id})


def claim_all(system: System, worker_id: str = "test-worker") -> dict[str, Running]:
    """Claim every queued job; each by its id."""
    claimed = system.store.claim(worker_id, 100, 300.0)
    return {job.id: Running(system, job, worker_id) for job in claimed}


# -- server-sent events -------------------------------------------------------


@dataclass(frozen=True)
class Event:
    event: str | None
    id: str | None
    data: str

    def job(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.data)
        validate_job(body)
        return body


@dataclass
class EventStream:
    """A `text/event-stream` response read as it arrives (see the WHATWG parsing rules:
    fields up to a blank line make an event, a line starting with ':' is a comment)."""

    response: httpx.Response
    comments: list[str] = field(default_factory=list)
    _lines: Iterator[str] | None = None

    def __post_init__(self) -> None:
        assert self.response.status_code == 200, self.response.read()
        assert self.response.headers["content-type"].startswith("text/event-stream")
        self._lines = self.response.iter_lines()

    def _next(self, *, stop_at_comment: bool) -> Event | str | None:
        """The next event, or (with `stop_at_comment`) a comment; None at the end."""
        assert self._lines is not None
        fields: dict[str, str] = {}
        data: list[str] = []
        for line in self._lines:
            if not line:
                if fields or data:
                    return Event(fields.get("event"), fields.get("id"), "\n".join(data))
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                if stop_at_comment and not fields and not data:
                    return self.comments[-1]
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "data":
                data.append(value)
            else:
                fields[name] = value
        assert not fields, f"the stream ended inside an event: {fields}"
        assert not data, f"the stream ended inside an event: {data}"
        return None

    def next_event(self) -> Event:
        """The next event (comments are kept aside); fails if the stream ends first."""
        found = self._next(stop_at_comment=False)
        assert isinstance(found, Event), "the stream ended before the next event"
        return found

    def next_event_soon(self) -> Event:
        """The next event, which must come within `SOON`: keep-alive comments would keep
        the read timeout from catching a change that only the fallback poll delivers."""
        started = time.monotonic()
        event = self.next_event()
        took = time.monotonic() - started
        assert took < SOON, f"the event came {took:.2f}s after the change"
        return event

    def next_comment(self) -> str:
        """Read up to the next comment; fails if an event, or the end, comes first."""
        found = self._next(stop_at_comment=True)
        assert isinstance(found, str), f"expected a comment, got {found}"
        return found

    def rest(self) -> list[Event]:
        """Every remaining event, up to the end of the stream (which must come)."""
        events = []
        while (found := self._next(stop_at_comment=False)) is not None:
            assert isinstance(found, Event)
            events.append(found)
        return events


def stream_client(base_url: str) -> httpx.Client:
    """A client for event streams: no contract hook (it would read a stream to its end
    before the test sees it), and reads that fail instead of hanging."""
    return httpx.Client(base_url=base_url, timeout=httpx.Timeout(STREAM_READ_TIMEOUT, connect=10.0))
