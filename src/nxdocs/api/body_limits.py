"""Request bodies: JSON only, and no larger than the configured limit.

The body is read here, up to the limit, before any route sees it: a client
that lies in Content-Length, or streams a chunked body with none, is cut off
at the limit with 413 instead of being buffered whole. Routes then get the
body replayed from memory (FastAPI reads bodies whole anyway).

Upload paths (`uploads`: path -> its own limit) are bounded by their own
limit the same way, and may carry `multipart/form-data` as well as JSON: the
upload route refuses anything but a form itself, and any other method there
gets its 405 whatever it carries.
"""

from __future__ import annotations

from collections.abc import Mapping

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nxdocs.api.errors import PayloadTooLargeError, UnsupportedMediaTypeError
from nxdocs.api.responses import error_response

_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_JSON = frozenset({b"application/json"})
_JSON_OR_FORM = _JSON | {b"multipart/form-data"}
UPLOAD_ONLY = "Uploads must be multipart/form-data."


class BodyLimits:
    def __init__(
        self, app: ASGIApp, max_bytes: int, uploads: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.uploads = dict(uploads or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _WITH_BODY:
            await self.app(scope, receive, send)
            return
        upload_limit = self.uploads.get(scope["path"])
        max_bytes = self.max_bytes if upload_limit is None else upload_limit
        headers = dict(scope["headers"])
        length = headers.get(b"content-length", b"")
        body = None
        if not (length.isdigit() and int(length) > max_bytes):
            body = await self._read(receive, max_bytes)
        if body is None:
            await error_response(PayloadTooLargeError())(scope, receive, send)
            return
        media_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        allowed = _JSON if upload_limit is None else _JSON_OR_FORM
        if body and media_type not in allowed:
            error = UnsupportedMediaTypeError(None if upload_limit is None else UPLOAD_ONLY)
            await error_response(error)(scope, receive, send)
            return
        await self.app(scope, replay_body(body), send)

    async def _read(self, receive: Receive, max_bytes: int) -> bytes | None:
        """The whole body, or None as soon as it passes `max_bytes`."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > max_bytes:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


def replay_body(body: bytes) -> Receive:
    """A `receive` that hands the app `body` whole, as one message."""
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive
