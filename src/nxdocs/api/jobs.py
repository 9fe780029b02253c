"""`GET /v1/jobs/{id}`: the route every client polls, served ahead of the framework.

This pure ASGI layer answers the poll path itself (auth from the key cache,
one indexed read, pre-built headers) and hands every other request to the
FastAPI app. The framework's middleware and routing cost more per request
than the read does (bench/README.md has the figures). Its OpenAPI entry is
added in `nxdocs.api.openapi`, and auth is the same `Authenticator` the
middleware uses. A database error raises through to `CatchAllErrors`, which
answers an outage with 503.

`?wait=SECONDS` (0-60) makes it a long-poll: a processing job is answered
once it finishes or the wait is over, with the same body and headers as
without it (`JobWaits`). A client that hangs up ends its wait at once.
"""

from __future__ import annotations

import asyncio
import re
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Receive, Scope, Send

from nxdocs.api.auth import Authenticator
from nxdocs.api.errors import ApiError, NotFoundError, RateLimitedError, invalid
from nxdocs.api.responses import error_response
from nxdocs.poll.cache import CachedJob
from nxdocs.poll.lookup import JobLookup
from nxdocs.poll.wait_slots import TooManyWaitsError, WaitSlots
from nxdocs.poll.waits import JobWaits

PATH_PREFIX = "/v1/jobs/"
MAX_WAIT_SECONDS = 60
_NOT_FOUND = error_response(NotFoundError())
_JSON = (b"content-type", b"application/json")
# Whole seconds or decimals, at most two digits before the point: anything
# else is refused before it is converted (no "1e9", "nan", " 5").
_WAIT_SHAPE = re.compile(r"[0-9]{1,2}(\.[0-9]{1,3})?")
_BAD_WAIT = f"`wait` is a number of seconds from 0 to {MAX_WAIT_SECONDS}."
TOO_MANY_WAITS = (
    "Too many requests are waiting on jobs at once; retry later, or poll without `wait`."
)


class JobPollRoute:
    def __init__(
        self,
        app: ASGIApp,
        *,
        lookup: JobLookup,
        waits: JobWaits,
        slots: WaitSlots,
        authenticator: Authenticator,
        retry_after_seconds: int,
    ) -> None:
        self.app = app
        self.lookup = lookup
        self.waits = waits
        self.slots = slots
        self.authenticator = authenticator
        self.retry_after = (b"retry-after", str(retry_after_seconds).encode())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        job_id = _poll_job_id(scope)
        if job_id is None:
            await self.app(scope, receive, send)
            return
        principal = await self.authenticator.admit(scope, receive, send)
        if principal is None:
            return
        try:
            wait = wait_seconds(scope["query_string"])
        except ApiError as error:
            await error_response(error)(scope, receive, send)
            return
        job = await self.lookup.job(job_id)
        if job is not None and job.owner_id in principal.visible and job.processing and wait:
            job = await self._long_poll(job_id, wait, principal.user_id, scope, receive, send)
            if job is None:
                return  # answered already, or the client left
        elif job is None or job.owner_id not in principal.visible:
            await _NOT_FOUND(scope, receive, send)
            return
        await self._answer(job, send)

    async def _long_poll(
        self, job_id: str, wait: float, user_id: str, scope: Scope, receive: Receive, send: Send
    ) -> CachedJob | None:
        """The job once finished or after `wait`; None once this has answered (429, or
        404 for a job deleted meanwhile) or the client has left."""
        try:
            slot = self.slots.take(user_id)
        except TooManyWaitsError:
            await error_response(RateLimitedError(TOO_MANY_WAITS), {"Retry-After": "1"})(
                scope, receive, send
            )
            return None
        gone = asyncio.Event()
        with slot:
            job = await self._wait(job_id, wait, receive, gone)
        if job is None and not gone.is_set():
            # Deleted meanwhile (retention): as if it had never been.
            await _NOT_FOUND(scope, receive, send)
        return None if gone.is_set() else job

    async def _wait(
        self, job_id: str, wait: float, receive: Receive, gone: asyncio.Event
    ) -> CachedJob | None:
        listening = asyncio.ensure_future(_set_on_disconnect(receive, gone))
        try:
            return await self.waits.until_finished(job_id, wait, gone)
        finally:
            listening.cancel()

    async def _answer(self, job: CachedJob, send: Send) -> None:
        headers = [_JSON, (b"content-length", str(len(job.body)).encode())]
        if job.processing:
            headers.append(self.retry_after)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": job.body})


def wait_seconds(query_string: bytes) -> float:
    """The `wait` parameter, 0 when absent; `ValidationFailedError` when malformed."""
    if not query_string:
        return 0.0  # the common poll: nothing to parse
    # Other parameters are ignored, as without `wait`, whatever their bytes.
    values = [
        value
        for name, value in parse_qsl(
            query_string.decode("latin-1"), keep_blank_values=True, errors="replace"
        )
        if name == "wait"
    ]
    if not values:
        return 0.0
    if len(values) > 1 or not _WAIT_SHAPE.fullmatch(values[0]):
        raise invalid("wait", _BAD_WAIT)
    seconds = float(values[0])
    if seconds > MAX_WAIT_SECONDS:
        raise invalid("wait", _BAD_WAIT)
    return seconds


async def _set_on_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _poll_job_id(scope: Scope) -> str | None:
    """The id when this is `GET /v1/jobs/{id}`, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not path.startswith(PATH_PREFIX):
        return None
    job_id = path[len(PATH_PREFIX) :]
    return job_id if job_id and "/" not in job_id else None
