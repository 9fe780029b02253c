"""`GET /v1/jobs/{id}/events`: a job's changes as server-sent events.

The stream sends the job as it is now, then every change of what the poll
route shows (progress included), each as `event: job.updated` with the job
object as `data`, and ends after the finished state. Each event's `id` is a
digest of the body it carries, so a client that reconnects with
`Last-Event-ID` is not sent the state it already has. Keep-alive comments
keep proxies from closing a quiet stream. Changes made in other processes
arrive through the same notifications as the poll path's (`JobWaits`).
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Header
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.types import Receive, Scope, Send

from nxdocs.api.deps import Caller, JobId, JobLookupDep, JobWaitsDep, SettingsDep, WaitSlotsDep
from nxdocs.api.errors import NotFoundError, RateLimitedError
from nxdocs.api.jobs import TOO_MANY_WAITS
from nxdocs.api.openapi import AUTHED, NOT_FOUND
from nxdocs.poll.cache import CachedJob
from nxdocs.poll.wait_slots import TooManyWaitsError, WaitSlot
from nxdocs.poll.waits import JobWaits

router = APIRouter(prefix="/v1/jobs", tags=["jobs"], responses={**AUTHED, **NOT_FOUND})

EVENT = "job.updated"


def event_id(job: CachedJob) -> str:
    """Names the state an event carries: equal bodies, equal ids."""
    return hashlib.blake2b(job.body, digest_size=8).hexdigest()


@router.get(
    "/{id}/events",
    summary="Stream a job's changes (server-sent events)",
    response_class=EventSourceResponse,
    responses={
        200: {
            "description": "`text/event-stream`: `event: job.updated`, `id`, and the job "
            "object as `data`, first as it is now, then at each change; the stream ends "
            "after the finished state. Comments (`: ping`) keep it alive.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        }
    },
)
async def job_events(
    job_id: JobId,
    principal: Caller,
    lookup: JobLookupDep,
    waits: JobWaitsDep,
    slots: WaitSlotsDep,
    settings: SettingsDep,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=64,
            description="The `id` of the last event received: a reconnect does not repeat it.",
        ),
    ] = None,
) -> EventSourceResponse:
    job = await lookup.job(job_id)
    if job is None or job.owner_id not in principal.visible:
        raise NotFoundError()
    try:
        slot = slots.take(principal.user_id)
    except TooManyWaitsError:
        raise RateLimitedError(TOO_MANY_WAITS, headers={"Retry-After": "1"}) from None
    return _SlotStream(
        _events(waits, job_id, last_event_id, slot),
        slot,
        ping=settings.events_keepalive_seconds,
    )


class _SlotStream(EventSourceResponse):
    """An event stream that gives its wait slot back however it ends. Its generator
    releases the slot when it stops, but it may never start: a send that fails before
    the first event (an ASGI 2.4 server raises once the client is gone) ends the
    response with neither the generator's `finally` nor a background task run."""

    def __init__(self, content: AsyncIterator[ServerSentEvent], slot: WaitSlot, **kw: Any) -> None:
        super().__init__(content, **kw)
        self.slot = slot

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.slot.release()


async def _events(
    waits: JobWaits, job_id: str, seen: str | None, slot: WaitSlot
) -> AsyncIterator[ServerSentEvent]:
    with slot:
        async for job in waits.states(job_id):
            this = event_id(job)
            if this == seen:
                continue
            yield ServerSentEvent(data=job.body.decode(), event=EVENT, id=this)
