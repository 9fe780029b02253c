"""Job types and the registry that maps a job's `type` to the code that runs it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from nxdocs.jobs.errors import JobError
from nxdocs.jobs.model import ClaimedJob, ErrorInfo, Fence


class JobContext(Protocol):
    """What a running handler may ask of the engine."""

    @property
    def fence(self) -> Fence:
        """This attempt, for writes a resource store makes only while it holds the job."""

    def report_progress(self, done: int, total: int) -> None:
        """Record `done` of `total` steps on the job (shown as its `progress`).

        Raises `LeaseLostError` once the lease is lost, so a handler that
        reports progress between steps stops at the next one.
        """

    def heartbeat(self) -> None:
        """Extend the lease now, before a long step; the worker also does it periodically.

        Raises `LeaseLostError` once the lease is lost.
        """

    def lease_lost(self) -> bool:
        """True once another attempt may own this job, or this one timed out, was
        released or was cancelled: stop and write nothing more (raise `LeaseLostError`)."""

    def check(self) -> None:
        """Raise `LeaseLostError` if `lease_lost()`: the check to make between pages.

        Local and cheap, so call it as often as you like; a cancel reaches it
        moments after it commits (the worker re-checks its claims when told).
        """


class JobHandler(Protocol):
    """The code behind one job type. Execution is at-least-once, so `run` is idempotent:
    the ids of what it creates are fixed in the payload at enqueue time, and a rerun
    overwrites what an earlier attempt wrote.
    """

    type: str

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        """Do the work and return the job's `result`, or raise a `JobError`."""

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        """Finalise the resource in the transaction that completes the job."""

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        """Mark the resource failed in the transaction that fails the job."""


class UnknownJobTypeError(JobError):
    """A job whose type no handler is registered for; it fails at once."""

    def __init__(self, job_type: str) -> None:
        super().__init__(
            "UNKNOWN_JOB_TYPE", f"No handler is registered for jobs of type {job_type!r}."
        )


class JobObserver(Protocol):
    """Told of every job's end, whatever its type, in the transaction that ends it."""

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None: ...

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None: ...

    def on_succeeded_many(
        self, connection: sa.Connection, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> None:
        """`on_succeeded` for a batch of jobs at once (one statement for all, say)."""


class HandlerRegistry:
    """`type -> handler`, and the store's hooks: the job type's handler first, then
    every observer (webhooks)."""

    def __init__(self) -> None:
        self._handlers: dict[str, JobHandler] = {}
        self._observers: list[JobObserver] = []

    def observe(self, observer: JobObserver) -> None:
        self._observers.append(observer)

    def register(self, handler: JobHandler) -> None:
        self._handlers[handler.type] = handler

    def get(self, job_type: str) -> JobHandler:
        try:
            return self._handlers[job_type]
        except KeyError:
            raise UnknownJobTypeError(job_type) from None

    @property
    def types(self) -> frozenset[str]:
        return frozenset(self._handlers)

    def on_succeeded(
        self, connection: sa.Connection, job: ClaimedJob, result: dict[str, Any]
    ) -> None:
        handler = self._handlers.get(job.type)
        if handler is not None:
            handler.on_succeeded(connection, job, result)
        for observer in self._observers:
            observer.on_succeeded(connection, job, result)

    def on_succeeded_many(
        self, connection: sa.Connection, done: Sequence[tuple[ClaimedJob, dict[str, Any]]]
    ) -> None:
        """Each job's handler hook, then each observer once for the whole batch."""
        for job, result in done:
            handler = self._handlers.get(job.type)
            if handler is not None:
                handler.on_succeeded(connection, job, result)
        if done:
            for observer in self._observers:
                observer.on_succeeded_many(connection, done)

    def on_failed(self, connection: sa.Connection, job: ClaimedJob, error: ErrorInfo) -> None:
        handler = self._handlers.get(job.type)
        if handler is not None:
            handler.on_failed(connection, job, error)
        for observer in self._observers:
            observer.on_failed(connection, job, error)
