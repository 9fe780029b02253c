"""What a worker process counts for `/metrics`: attempts, their run times,
outcomes, retries, lease expiries, webhook deliveries and its running loops.

One set per process, made on first use (`worker_metrics()`), in a registry of
its own, never the library's global one. One per process, not per worker:
in prometheus-client's multiprocess mode (see `nxdocs.api.observability`)
each process keeps its values in one memory-mapped file per kind of metric,
and two objects of one metric in a process would overwrite each other's
counts there. Counting costs a lock and an addition, in memory or in that
file; nothing is written to the database for it.
"""

from __future__ import annotations

import collections
import functools
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DURATION_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    900.0,
)
"""From no-op jobs to exports near their time limit (15 minutes by default)."""


@dataclass(frozen=True)
class WorkerMetrics:
    registry: CollectorRegistry
    attempts: Counter
    """Attempts started, by job type: jobs claimed (the claim counts the attempt)."""
    durations: Histogram
    """How long each attempt's handler ran, by job type, whatever its outcome."""
    finished: Counter
    """Jobs a worker brought to an end, by type and final state (succeeded, failed)."""
    retries: Counter
    """Failed attempts whose job was queued again for a later attempt, by type."""
    lease_expiries: Counter
    """Jobs whose lease expired and the reaper took back (queued again, or failed
    when out of attempts)."""
    webhook_deliveries: Counter
    """Webhook delivery attempts by outcome: delivered, rejected (the receiver
    answered, not with 2xx) or error (no answer: refused, timed out)."""
    workers: Gauge
    """Worker loops running (summed over the live processes in multiprocess mode)."""
    _timers: dict[str, Histogram] = field(default_factory=dict)

    def duration(self, job_type: str) -> Histogram:
        """`durations` of one job type: each attempt observes one, and `labels()`
        checks its arguments on every call (it costs twice the observation)."""
        timer = self._timers.get(job_type)
        if timer is None:
            timer = self._timers[job_type] = self.durations.labels(job_type)
        return timer


@functools.cache
def worker_metrics() -> WorkerMetrics:
    registry = CollectorRegistry()
    return WorkerMetrics(
        registry=registry,
        attempts=Counter(
            "nxdocs_job_attempts",
            "Job attempts started (jobs claimed), by type.",
            ["type"],
            registry=registry,
        ),
        durations=Histogram(
            "nxdocs_job_duration_seconds",
            "Run time of each job attempt, by type, whatever its outcome.",
            ["type"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        ),
        finished=Counter(
            "nxdocs_jobs_finished",
            "Jobs that workers brought to an end, by type and final state.",
            ["type", "state"],
            registry=registry,
        ),
        retries=Counter(
            "nxdocs_job_retries",
            "Failed attempts whose job was queued again for another attempt, by type.",
            ["type"],
            registry=registry,
        ),
        lease_expiries=Counter(
            "nxdocs_job_lease_expiries",
            "Jobs whose lease expired, taken back by the reaper (queued again, or failed "
            "when out of attempts).",
            registry=registry,
        ),
        webhook_deliveries=Counter(
            "nxdocs_webhook_deliveries",
            "Webhook delivery attempts by outcome: delivered, rejected (answered, not 2xx), "
            "error (no answer).",
            ["outcome"],
            registry=registry,
        ),
        workers=Gauge(
            "nxdocs_worker_loops",
            "Worker loops running, in the processes that share this /metrics.",
            registry=registry,
            multiprocess_mode="livesum",
        ),
    )


def count_by_type(counter: Callable[[str], Counter], job_types: Iterable[str]) -> None:
    """Count a batch of jobs: one addition per job type, not one per job."""
    for job_type, count in collections.Counter(job_types).items():
        counter(job_type).inc(count)
