"""Typed outcomes a job handler raises; each becomes the job's public `error`.

A handler returns its result on success. To fail it raises one of these; the
worker turns the code and message into the job's `error` object. Anything
else a handler raises is unexpected: it is logged with its traceback and the
job sees only `INTERNAL_ERROR` with a safe message.
"""

from __future__ import annotations


class JobError(Exception):
    """The job failed for good: it is not retried.

    `code` is a stable UPPER_SNAKE code (e.g. `GENERATION_FAILED`) and
    `message` a sentence safe to show to the client.
    """

    retryable = False

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class RetryableJobError(JobError):
    """A transient failure: the job is retried with backoff while attempts remain."""

    retryable = True


class SnoozeJob(Exception):  # noqa: N818 (an outcome, not an error)
    """Not a failure: run the job again after `delay_seconds`, without spending an attempt.

    For a job that must wait on something else (an export on its artifact)
    without holding a worker slot while it waits.
    """

    def __init__(self, delay_seconds: float) -> None:
        super().__init__(f"snoozed for {delay_seconds}s")
        self.delay_seconds = delay_seconds


class LeaseLostError(Exception):
    """A resource write was refused: another attempt owns the job now.

    Not an outcome of the job: the executor's own fenced write of it is
    refused too, and the attempt that took over decides how the job ends.
    """

    def __init__(self) -> None:
        super().__init__("the job's lease was lost; the write was refused")
