"""A job as the engine sees it, and how its internal state maps to the contract."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class JobState(StrEnum):
    """Internal states: queued -> running -> succeeded | failed | cancelled.

    `running -> queued` happens again on a retry or an expired lease.
    """

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def public_status(self) -> str:
        """The contract's `status`, which never grows beyond its three values."""
        return _PUBLIC_STATUS[self]


_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
_PUBLIC_STATUS = {
    JobState.QUEUED: "processing",
    JobState.RUNNING: "processing",
    JobState.SUCCEEDED: "completed",
    JobState.FAILED: "failed",
    JobState.CANCELLED: "failed",
}

ARTIFACT_CREATE = "artifact.create"
EXPORT_RUN = "export.run"
JOB_TYPES = (ARTIFACT_CREATE, EXPORT_RUN)


@dataclass(frozen=True, slots=True)
class NewJob:
    """What a caller enqueues; the id is fixed before the transaction commits.

    The time the id carries (`new_id("job", at_ms)`) is the job's `created_at`.
    """

    id: str
    owner_id: str
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ClaimedJob:
    """A job a worker holds a lease on; (worker, attempt, `run_id`) fences its later writes.

    `run_id` is the token the claim wrote into the row: it tells this claim
    apart from every other one, even from a claim of the same attempt number
    (a release or a snooze hands the number back) by a worker of the same id.
    """

    id: str
    owner_id: str
    type: str
    payload: dict[str, Any]
    attempt: int
    max_attempts: int
    run_id: str


@dataclass(frozen=True, slots=True)
class Fence:
    """What an attempt's writes are conditional on: the job still held by this
    worker in this attempt, under this claim. Resource stores check it in the
    writing transaction."""

    job_id: str
    worker_id: str
    attempt: int
    run_id: str

    @property
    def blob_prefix(self) -> str:
        """A path segment unique to this claim, for the blobs it writes."""
        return f"{self.attempt}-{self.run_id}"


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class JobView:
    """Everything the API shows of a job."""

    id: str
    owner_id: str
    type: str
    state: JobState
    result: dict[str, Any] | None
    error: ErrorInfo | None
    attempts: int
    progress_done: int | None
    progress_total: int | None
    created_at: int
    updated_at: int
