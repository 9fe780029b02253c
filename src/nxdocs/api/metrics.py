"""`GET /metrics`: a few gauges in the Prometheus text format.

Each app has its own `CollectorRegistry` (never the library's global one), so
several apps in one process, as in the tests, each report their own. Values
are read when scraped; nothing is counted on the poll path.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from starlette.responses import Response

from nxdocs.api.deps import MetricsDep
from nxdocs.api.openapi import INTERNAL
from nxdocs.poll.cache import JobCache


def metrics_registry(cache: JobCache, worker_alive: Callable[[], bool] | None) -> CollectorRegistry:
    """The gauges of one app; `worker_alive` is None in a process without an embedded worker."""
    registry = CollectorRegistry()
    Gauge(
        "nxdocs_poll_cache_entries",
        "Jobs held in the poll route's cache.",
        registry=registry,
    ).set_function(lambda: cache.entries)
    Gauge(
        "nxdocs_poll_cache_bytes",
        "Memory held by the poll route's cache, as counted against --poll-cache-max-bytes.",
        registry=registry,
    ).set_function(lambda: cache.size_bytes)
    if worker_alive is not None:
        Gauge(
            "nxdocs_worker_alive",
            "1 while this process's embedded worker loop runs, else 0.",
            registry=registry,
        ).set_function(lambda: float(worker_alive()))
    return registry


router = APIRouter(tags=["health"])


@router.get(
    "/metrics",
    summary="Prometheus metrics of this process",
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
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
