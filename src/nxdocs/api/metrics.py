"""`GET /metrics` in the Prometheus text format.

What one scrape reports:
- gauges of this process, read when scraped: the poll cache, the embedded worker;
- the jobs in flight, read from the database when scraped (`QueueGauges`);
- the counters and histograms of requests (`nxdocs.api.request_context`) and
  of jobs and webhook deliveries (`nxdocs.jobs.metrics`): in a process started
  by the CLI, those of every nxdocs process sharing its directory (see
  `nxdocs.api.observability`), else this process's own.

Each app has its own `CollectorRegistry` (never the library's global one).
The gauges of this process are not `Gauge` objects: in multiprocess mode
those would be written to the shared files and reported twice.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio.to_thread
from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.responses import Response

from nxdocs.api.deps import MetricsDep
from nxdocs.api.observability import forget_exited_processes, shared_directory
from nxdocs.api.openapi import INTERNAL
from nxdocs.api.request_context import http_metrics
from nxdocs.jobs.metrics import worker_metrics
from nxdocs.jobs.store import QueueStats
from nxdocs.logs import exception_summary
from nxdocs.poll.cache import JobCache

log = logging.getLogger(__name__)

QUEUE_STATS_MAX_AGE_SECONDS = 1.0
"""Scrapes within this long of a read of the queue share it: `/metrics` needs no
key, and a flood of scrapes must not become a flood of database reads."""


def metrics_registry(
    cache: JobCache,
    worker_alive: Callable[[], bool] | None,
    queue_stats: Callable[[], QueueStats],
) -> CollectorRegistry:
    """The metrics of one app; `worker_alive` is None in a process without an embedded worker."""
    registry = CollectorRegistry()
    registry.register(ProcessGauges(cache, worker_alive))
    registry.register(QueueGauges(queue_stats))
    directory = shared_directory()
    if directory is not None:
        registry.register(SharedMetrics(directory))
    else:
        registry.register(worker_metrics().registry)
        registry.register(http_metrics().registry)
    return registry


class ProcessGauges:
    def __init__(self, cache: JobCache, worker_alive: Callable[[], bool] | None) -> None:
        self.cache = cache
        self.worker_alive = worker_alive

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(
            "nxdocs_poll_cache_entries",
            "Jobs held in the poll route's cache.",
            value=self.cache.entries,
        )
        yield GaugeMetricFamily(
            "nxdocs_poll_cache_bytes",
            "Memory held by the poll route's cache, as counted against --poll-cache-max-bytes.",
            value=self.cache.size_bytes,
        )
        if self.worker_alive is not None:
            yield GaugeMetricFamily(
                "nxdocs_worker_alive",
                "1 while this process's embedded worker loop runs, else 0.",
                value=float(self.worker_alive()),
            )


class QueueGauges:
    """The jobs queued and running, read from the database at most every
    `QUEUE_STATS_MAX_AGE_SECONDS`; nothing while the database does not answer."""

    def __init__(self, read: Callable[[], QueueStats]) -> None:
        self.read = read
        self._lock = threading.Lock()
        self._stats: QueueStats | None = None
        self._read_at = -math.inf

    def collect(self) -> Iterator[Metric]:
        stats = self._stats_now()
        if stats is None:
            return
        jobs = GaugeMetricFamily(
            "nxdocs_jobs",
            "Jobs queued or running now, by type and state.",
            labels=["type", "state"],
        )
        for (job_type, state), count in sorted(stats.active.items()):
            jobs.add_metric([job_type, state.value], count)
        yield jobs
        yield GaugeMetricFamily(
            "nxdocs_queue_depth", "Queued jobs whose time to run has come.", value=stats.due
        )
        yield GaugeMetricFamily(
            "nxdocs_queue_oldest_age_seconds",
            "How long the longest-waiting due job has waited since its time to run; 0 for none.",
            value=stats.oldest_due_seconds,
        )

    def _stats_now(self) -> QueueStats | None:
        # One read at a time: a scrape that finds one under way takes the last
        # answer rather than waiting (a hung database holds one thread, not all).
        if not self._lock.acquire(blocking=False):
            return self._stats
        try:
            if time.monotonic() - self._read_at > QUEUE_STATS_MAX_AGE_SECONDS:
                self._read_at = time.monotonic()  # a failed read waits as long as one that worked
                self._stats = self.read()
        except Exception as exc:
            log.warning("metrics: the queue was not read (%s)", exception_summary(exc))
            self._stats = None
        finally:
            self._lock.release()
        return self._stats


class SharedMetrics:
    """The counters, histograms and gauges of every process sharing `directory`, summed."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._files = MultiProcessCollector(None, str(directory))  # type: ignore[no-untyped-call]

    def collect(self) -> Iterator[Metric]:
        forget_exited_processes(self.directory)
        yield from self._files.collect()  # type: ignore[no-untyped-call]


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process and the workers beside it",
    response_class=Response,
    responses={
        200: {
            "description": "Prometheus text format.",
            "content": {"text/plain": {"schema": {"type": "string"}}},
        },
        **INTERNAL,
    },
)
async def metrics(registry: MetricsDep) -> Response:
    # On a thread: the queue's gauges read the database, the shared metrics files.
    body = await anyio.to_thread.run_sync(generate_latest, registry)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
