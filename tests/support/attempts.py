"""One attempt of a job run by hand, without a worker: claim it, then drive its handler.

For tests of what a stale attempt may write (fencing): they claim a job as a
named worker, and may pause a `RunningJob` subclass before its writes while
another claim takes over.
"""

from __future__ import annotations

import time

from nxdocs.jobs.execute import RunningJob
from nxdocs.system import System

LEASE = 30.0
TIMEOUT = 600.0


def claim(system: System, worker_id: str = "w1") -> RunningJob:
    """The one queued job, claimed by `worker_id` for `LEASE` seconds."""
    (job,) = system.store.claim(worker_id, 1, LEASE)
    return RunningJob(job, worker_id, system.store, LEASE, TIMEOUT, time.monotonic())
