"""The outermost ASGI layer: an unexpected exception becomes the contract's 500.

Starlette's own error middleware re-raises after answering, so the server
would log a traceback (with whatever SQL or data the exception text holds).
This layer stops it here and logs a one-line summary instead.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nxdocs.api.responses import error_response
from nxdocs.errors import InternalError
from nxdocs.logs import exception_summary

log = logging.getLogger(__name__)


class ContainErrors:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

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
            log.error(
                "unhandled error on %s %s: %s",
                scope["method"],
                scope["path"],
                exception_summary(exc),
            )
            if not started:
                await error_response(InternalError())(scope, receive, send)
