"""Request bodies: JSON only, and no larger than the configured limit.

Checked as the body streams in, so a client that lies in Content-Length, or
sends none, is cut off at the limit instead of being buffered whole.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nxdocs.api.responses import error_response
from nxdocs.errors import PayloadTooLargeError, UnsupportedMediaTypeError

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})


class _TooLargeError(Exception):
    pass


class BodyLimits:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await error_response(PayloadTooLargeError())(scope, receive, send)
            return
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        if (length not in (None, b"0")) and media_type != b"application/json":
            await error_response(UnsupportedMediaTypeError())(scope, receive, send)
            return
        await self._guarded(scope, receive, send)

    async def _guarded(self, scope: Scope, receive: Receive, send: Send) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise _TooLargeError
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLargeError:
            if not started:
                await error_response(PayloadTooLargeError())(scope, receive, send)
