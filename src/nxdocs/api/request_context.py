"""The outermost layer: each request's id, and its latency by route.

A request's id is the client's `Request-Id` (or `X-Request-Id`) when that is
short and of safe characters (at most 64 letters, digits, `.`, `:` or `-`),
else a new random one. While the request is answered it is in
`nxdocs.logs.REQUEST_ID`, so JSON log lines carry it, and every response
returns it as `Request-Id`, errors included: this layer is outside
`CatchAllErrors`. No underscore is accepted: API keys (`nxd_...`) and webhook
secrets (`whsec_...`) have one, so neither can reach a log line this way.

Latency is counted by route template (`/v1/artifacts/{artifact_id}`), never
by the raw path: every label value is a series kept in memory for good, and
a path is the client's to choose. A path no route serves counts as
`unmatched`, a method outside the standard ones as `other`.
"""

from __future__ import annotations

import functools
import logging
import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from fastapi.routing import iter_route_contexts
from prometheus_client import CollectorRegistry, Counter, Histogram
from starlette.routing import BaseRoute, compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nxdocs.logs import REQUEST_ID

log = logging.getLogger(__name__)

UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_SAFE_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9.:-]{0,63}")
_ID_HEADERS = (b"request-id", b"x-request-id")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


@dataclass
class HttpMetrics:
    """One set per process, like `nxdocs.jobs.metrics.worker_metrics` and for the same reason."""

    registry: CollectorRegistry
    durations: Histogram
    responses: Counter
    # Children by label values: `labels()` checks its arguments on every call.
    _timers: dict[tuple[str, str], Histogram] = field(default_factory=dict)
    _counters: dict[tuple[str, str, str], Counter] = field(default_factory=dict)

    def observe(self, method: str, route: str, status: str, seconds: float) -> None:
        timer = self._timers.get((method, route))
        if timer is None:
            timer = self._timers[method, route] = self.durations.labels(method, route)
        timer.observe(seconds)
        counter = self._counters.get((method, route, status))
        if counter is None:
            counter = self.responses.labels(method, route, status)
            self._counters[method, route, status] = counter
        counter.inc()


@functools.cache
def http_metrics() -> HttpMetrics:
    registry = CollectorRegistry()
    return HttpMetrics(
        registry=registry,
        durations=Histogram(
            "nxdocs_http_request_duration_seconds",
            "Time to answer a request, by method and route template (long-polls and event "
            "streams included: their time is the wait).",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        ),
        responses=Counter(
            "nxdocs_http_responses",
            "Responses by method, route template and status code.",
            ["method", "route", "status"],
            registry=registry,
        ),
    )


class RouteTemplates:
    """The template of the route a request is for."""

    def __init__(self, routes: Sequence[BaseRoute], *extra: str) -> None:
        self._patterns = [(compile_path(path)[0], path) for path in extra]
        by_route: dict[int, list[str]] = {}
        # Routes as served, with the prefixes of the routers that include them.
        for context in iter_route_contexts(routes):
            template, pattern = context.path_format, getattr(context, "path_regex", None)
            if isinstance(pattern, re.Pattern) and template is not None:
                self._patterns.append((pattern, template))
                by_route.setdefault(id(context.original_route), []).append(template)
        # A route included twice (two prefixes) is told apart by its path only.
        self._by_route = {key: found[0] for key, found in by_route.items() if len(found) == 1}

    def of(self, scope: Scope) -> str:
        # The router leaves the route it chose in the scope; a request answered
        # before routing (a 401, a 413, the poll route) is matched here.
        template = self._by_route.get(id(scope.get("route")))
        if template is not None:
            return template
        path = scope["path"]
        for pattern, template in self._patterns:
            if pattern.match(path):
                return template
        return UNMATCHED


class RequestContext:
    def __init__(self, app: ASGIApp, routes: RouteTemplates) -> None:
        self.app = app
        self.routes = routes
        self.metrics = http_metrics()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = request_id_of(scope["headers"])
        header = (b"request-id", request_id.encode())
        status = "none"  # the client left before an answer started

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = str(message["status"])
                message = {**message, "headers": [*message.get("headers", ()), header]}
            await send(message)

        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            method: str = scope["method"] if scope["method"] in _METHODS else "other"
            route = self.routes.of(scope)
            self.metrics.observe(method, route, status, seconds)
            if log.isEnabledFor(logging.DEBUG):
                log.debug("%s %s answered %s in %.1f ms", method, route, status, seconds * 1000)
            REQUEST_ID.reset(token)


def request_id_of(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The client's request id if it is safe to log and return, else a new one."""
    for name, value in headers:
        if name in _ID_HEADERS and _SAFE_ID.fullmatch(value):
            return value.decode()
    return secrets.token_hex(16)
