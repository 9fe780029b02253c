"""The outermost ASGI layer: no exception escapes; a database outage is a 503, anything else a 500.

Starlette's own error middleware re-raises after answering, so the server
would log a traceback (with whatever SQL or data the exception text holds).
This layer stops it here and logs a one-line summary instead. Outages are
told apart from bugs by `nxdocs.db.outage.is_outage`, and logged
at most once a second, with a count, since under load every request fails.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nxdocs.api.errors import InternalError
from nxdocs.api.responses import error_response
from nxdocs.api.unavailable import is_unavailable, unavailable_response
from nxdocs.logs import client_text, exception_summary

log = logging.getLogger(__name__)

_OUTAGE_LOG_INTERVAL_SECONDS = 1.0


class CatchAllErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._next_outage_log = 0.0
        self._unlogged_outages = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            if is_unavailable(exc):
                self._log_outage(scope, exc)
                response = unavailable_response()
            else:
                log.error(
                    "unhandled error on %s %s: %s",
                    client_text(scope["method"]),
                    client_text(scope["path"]),
                    exception_summary(exc),
                )
                response = error_response(InternalError())
            if not started:
                await response(scope, receive, send)

    def _log_outage(self, scope: Scope, exc: Exception) -> None:
        now = time.monotonic()
        if now < self._next_outage_log:
            self._unlogged_outages += 1
            return
        more = f" (and {self._unlogged_outages} more since the last line)"
        log.warning(
            "database unavailable on %s %s, answered 503: %s%s",
            client_text(scope["method"]),
            client_text(scope["path"]),
            exception_summary(exc),
            more if self._unlogged_outages else "",
        )
        self._next_outage_log = now + _OUTAGE_LOG_INTERVAL_SECONDS
        self._unlogged_outages = 0
