"""`create_app()`: the ASGI application for one `System`.

Layers, outermost first: `RequestContext` (the request id, returned as
`Request-Id`, and the latency by route), `CatchAllErrors` (no exception
escapes; a database outage is a 503), the poll route (`JobPollRoute`), then
the FastAPI app with `AuthMiddleware` in front of every other /v1 route and
the legacy /v0 ones.
`/health`, `/readyz` and `/metrics` are outside them and need no key.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from nxdocs import __version__, dashboard
from nxdocs.api import (
    artifacts,
    assets,
    embed,
    exports,
    files,
    health,
    job_control,
    job_events,
    legacy_export,
    me,
    metrics,
    organizations,
    ready,
    themes_and_brands,
    webhooks,
)
from nxdocs.api.auth import Authenticator, AuthMiddleware
from nxdocs.api.body_limits import BodyLimits
from nxdocs.api.catch_all import CatchAllErrors
from nxdocs.api.deps import Services
from nxdocs.api.error_handlers import install_error_handlers
from nxdocs.api.idempotency import IdempotentCreates
from nxdocs.api.jobs import PATH_PREFIX as POLL_PATH_PREFIX
from nxdocs.api.jobs import JobPollRoute
from nxdocs.api.metrics import metrics_registry
from nxdocs.api.openapi import install_openapi
from nxdocs.api.readiness import DatabaseProbe, MigrationsProbe, Readiness
from nxdocs.api.request_context import RequestContext, RouteTemplates
from nxdocs.api.responses import OrjsonResponse
from nxdocs.auth.cache import KeyCache
from nxdocs.auth.rate_limiter import RateLimiter
from nxdocs.exports.links import DownloadLinks
from nxdocs.jobs.runner import EmbeddedWorker, WorkerThread
from nxdocs.poll.changes import JobChanges
from nxdocs.poll.lookup import JobLookup
from nxdocs.poll.wait_slots import WaitSlots
from nxdocs.poll.waiter import JobWaiter
from nxdocs.poll.waits import JobWaits
from nxdocs.system import System

# The /v1 paths that need no key (see `AuthMiddleware`): "/v1/health" exactly,
# and every path under "/v1/files/" (downloads carry a signature instead) and
# under "/v1/embed/view/" (the embed viewer: its token instead of the key).
PUBLIC_PREFIXES = ("/v1/health", "/v1/files/", "/v1/embed/view/")


class NxdocsApp:
    """The whole ASGI stack; `api` is the FastAPI app inside it (routes, OpenAPI)."""

    def __init__(self, api: FastAPI, stack: RequestContext) -> None:
        self.api = api
        self._stack = stack

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._stack(scope, receive, send)


def create_app(system: System, *, embedded_worker: bool | EmbeddedWorker = True) -> NxdocsApp:
    """The API for `system`, and the worker it runs beside itself while it serves:
    True for a worker thread in this process, False for none, or one given
    (`nxdocs serve` gives a `WorkerProcess`)."""
    reader, cache = system.poll_path()
    settings = system.settings
    lookup = JobLookup(reader, cache)
    # Subscribed after the cache, so a change has evicted the cached body
    # before any waiter it wakes reads it again.
    changes = JobChanges(system.notifier.subscribe, system.job_versions())
    notifier = system.notifier
    waits = JobWaits(
        lookup, changes, settings.poll_interval_seconds, is_live=lambda: notifier.listening
    )
    wait_slots = WaitSlots(settings.max_waits, settings.max_waits_per_owner)
    runs_worker = embedded_worker is not False
    readiness = Readiness(
        DatabaseProbe(system.engine, system.database), MigrationsProbe(system.engine), runs_worker
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await reader.open()
        system.start_listening()
        worker: EmbeddedWorker | None = None
        if embedded_worker is True:
            worker = WorkerThread(system.worker())
        elif embedded_worker is not False:
            worker = embedded_worker
        if worker is not None:
            worker.start()
            readiness.worker = worker
        try:
            yield
        finally:
            if worker is not None:
                worker.stop()
            await reader.close()

    api = FastAPI(
        title="nxdocs",
        version=__version__,
        description="The NextDocs public API v1, self-hosted.",
        default_response_class=OrjsonResponse,
        lifespan=lifespan,
    )
    signer = system.link_signer()
    Services(
        system=system,
        waiter=JobWaiter(system.store, changes, settings.poll_interval_seconds),
        lookup=lookup,
        waits=waits,
        wait_slots=wait_slots,
        signer=signer,
        links=DownloadLinks(
            signer,
            system.blobs,
            system.clock,
            url_seconds=settings.download_url_seconds,
            retention_seconds=settings.export_retention_seconds,
        ),
        readiness=readiness,
        metrics=metrics_registry(
            cache,
            (lambda: readiness.worker_state() == "ok") if runs_worker else None,
            system.store.queue_stats,
        ),
    ).install(api)
    install_error_handlers(api)
    install_openapi(api, public_prefixes=PUBLIC_PREFIXES)
    for router in (
        health.router,
        ready.router,
        metrics.router,
        artifacts.router,
        job_control.router,
        job_events.router,
        exports.router,
        assets.router,
        files.router,
        embed.router,
        themes_and_brands.router,
        me.router,
        organizations.router,
        legacy_export.router,
        webhooks.router,
    ):
        api.include_router(router)
    authenticator = Authenticator(
        KeyCache(system.keys.principal_of, settings.auth_cache_seconds),
        RateLimiter(settings.rate_limit_per_second, settings.rate_limit_burst),
    )
    # The last added runs first: the key is checked before the body is read, and
    # Idempotency-Key sees the owner and a body already bounded.
    api.add_middleware(IdempotentCreates, store=system.idempotency)
    api.add_middleware(
        BodyLimits,
        max_bytes=settings.max_request_bytes,
        uploads={assets.UPLOAD_PATH: assets.upload_body_limit(settings)},
    )
    api.add_middleware(AuthMiddleware, authenticator=authenticator, public_prefixes=PUBLIC_PREFIXES)
    # Last, so the dashboard's security headers wrap every answer on its paths,
    # the body limits' 413 and 415 included.
    dashboard.mount(api, system)
    poll = JobPollRoute(
        api,
        lookup=lookup,
        waits=waits,
        slots=wait_slots,
        authenticator=authenticator,
        retry_after_seconds=settings.retry_after_seconds,
    )
    # The poll route is served ahead of the framework, so its template is added here.
    templates = RouteTemplates(api.router.routes, POLL_PATH_PREFIX + "{id}")
    return NxdocsApp(api, RequestContext(CatchAllErrors(poll), templates))
