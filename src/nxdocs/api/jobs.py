"""`GET /v1/jobs/{id}`: the route every client polls, served ahead of the framework.

This pure ASGI layer answers the poll path itself (auth from the key cache,
one indexed read, pre-built headers) and hands every other request to the
FastAPI app. The framework's middleware and routing cost more per request
than the read does (bench/README.md has the figures). Its OpenAPI entry is
added in `nxdocs.api.openapi`, and auth is the same `Authenticator` the
middleware uses. A database error raises through to `CatchAllErrors`, which
answers an outage with 503.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from nxdocs.api.auth import Authenticator
from nxdocs.api.errors import NotFoundError
from nxdocs.api.responses import error_response
from nxdocs.ids import is_id
from nxdocs.poll.cache import CachedJob, JobCache
from nxdocs.poll.public import job_json
from nxdocs.poll.reader import JobReader

PATH_PREFIX = "/v1/jobs/"
_NOT_FOUND = error_response(NotFoundError())
_JSON = (b"content-type", b"application/json")


class JobPollRoute:
    def __init__(
        self,
        app: ASGIApp,
        *,
        reader: JobReader,
        cache: JobCache,
        authenticator: Authenticator,
        retry_after_seconds: int,
    ) -> None:
        self.app = app
        self.reader = reader
        self.cache = cache
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
        await self._answer(job_id, principal.visible, scope, receive, send)

    async def _answer(
        self, job_id: str, visible: frozenset[str], scope: Scope, receive: Receive, send: Send
    ) -> None:
        job = await self._job(job_id)
        if job is None or job.owner_id not in visible:
            await _NOT_FOUND(scope, receive, send)
            return
        headers = [_JSON, (b"content-length", str(len(job.body)).encode())]
        if job.processing:
            headers.append(self.retry_after)
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": job.body})

    async def _job(self, job_id: str) -> CachedJob | None:
        if not is_id(job_id, "job"):
            return None  # nothing of another shape is looked up, let alone cached
        cached = self.cache.get(job_id)
        if cached is not None:
            return cached
        token = self.cache.token()
        job = await self._read(job_id)
        if job is not None:
            self.cache.put(job_id, job, token)
        return job

    async def _read(self, job_id: str) -> CachedJob | None:
        found = await self.reader.read(job_id)
        if found is None:
            return None
        owner_id, row = found
        body, processing = job_json(row)
        return CachedJob(owner_id, body, processing)


def _poll_job_id(scope: Scope) -> str | None:
    """The id when this is `GET /v1/jobs/{id}`, else None."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    path: str = scope["path"]
    if not path.startswith(PATH_PREFIX):
        return None
    job_id = path[len(PATH_PREFIX) :]
    return job_id if job_id and "/" not in job_id else None
