"""The building blocks of the operations (`nxdocs.sdk.calls`), generators of steps
(see `nxdocs.sdk.core`): one request, every page of a list, a create, a wait
for a job, a download.

Creates carry an Idempotency-Key, made here once per call, so every retry of
that call sends the same key and the server makes one job however often the
request is sent.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote

from pydantic import BaseModel

from nxdocs.sdk.core import Core, Emit, Operation, Sleep
from nxdocs.sdk.errors import (
    JobFailedError,
    NxdocsError,
    RateLimitError,
    ValidationError,
    WaitTimeoutError,
)
from nxdocs.sdk.models import Artifact, Export, Job, format_timestamp
from nxdocs.sdk.wire import ApiRequest, QueryValue, new_idempotency_key, query, retry_after

M = TypeVar("M", bound=BaseModel)
LONG_POLL_SECONDS = 60.0
"""The longest `wait` the server takes."""
UPDATE_SECONDS = 0.5
"""How often a wait with `on_update` hears of the job's progress."""
MAX_POLL_PAUSE_SECONDS = 60.0
DEFAULT_POLL_SECONDS = 1.0
"""Between plain polls, when the server sends no Retry-After."""


class NotGiven(enum.Enum):
    """An update's "leave this field as it is" (None means clear it)."""

    NOT_GIVEN = enum.auto()


NOT_GIVEN = NotGiven.NOT_GIVEN
Timestamp = datetime | str
"""An aware datetime, or RFC 3339 text as the API writes it."""


def path(*parts: str) -> str:
    """`/v1/...` with each id quoted, so no id can reach another route."""
    return "/v1/" + "/".join(quote(part, safe="") for part in parts)


def one(core: Core, model: type[M], request: ApiRequest) -> Operation[M]:
    """Send `request`; its answer as `model`."""
    body = yield from core.json(request)
    return model.model_validate(body)


def paginate(
    core: Core,
    model: type[M],
    url: str,
    params: Sequence[tuple[str, QueryValue]],
    after: str | None,
) -> Operation[None]:
    """Every item of a list, page after page, from the one after `after`."""
    while True:
        cursor = query(after=after)
        page = yield from core.json(ApiRequest("GET", url, (*params, *cursor)))
        items = page["data"]
        for item in items:
            yield Emit(model.model_validate(item))
        if not page.get("has_more") or not items:
            return
        after = items[-1]["id"]


# --- jobs -----------------------------------------------------------------------------------------


def wait_job(
    core: Core,
    job_id: str,
    timeout: float | None,
    on_update: Callable[[Job], None] | None = None,
) -> Operation[Job]:
    """The job once it is no longer processing; `WaitTimeoutError` after `timeout` seconds.

    Long-polls (`?wait=`), so the answer comes as the job finishes. A server that
    refuses the wait (429: too many open; 400: no `wait` parameter) or answers
    at once without holding it is polled plainly instead, pausing as its
    Retry-After says. With `on_update`, each answer is passed on, at least every
    `UPDATE_SECONDS`, for progress displays.
    """
    deadline = math.inf if timeout is None else core.clock() + timeout
    long_poll = True
    while True:
        hold = min(deadline - core.clock(), UPDATE_SECONDS if on_update else LONG_POLL_SECONDS)
        hold = max(0.0, hold) if long_poll else 0.0
        asked = core.clock()
        try:
            response = yield from core.call(_poll_request(job_id, hold if long_poll else None))
        except (RateLimitError, ValidationError):
            if not long_poll:
                raise
            long_poll = False
            continue
        job = Job.model_validate(core.wire.json(response))
        if on_update is not None:
            on_update(job)
        if job.finished:
            return job
        left = deadline - core.clock()
        if left <= 0:
            raise WaitTimeoutError(f"Job {job_id} is still processing after {timeout}s.", job=job)
        if long_poll and hold > 0 and core.clock() - asked < hold / 2:
            long_poll = False  # answered at once, still processing: the wait was ignored
        if not long_poll:
            pause = retry_after(response.headers)
            # A server's Retry-After is followed, up to what the retries accept.
            pause = DEFAULT_POLL_SECONDS if pause is None else min(pause, MAX_POLL_PAUSE_SECONDS)
            yield Sleep(min(left, pause))


def _poll_request(job_id: str, hold: float | None) -> ApiRequest:
    if hold is None:
        return ApiRequest("GET", path("jobs", job_id))
    # The server takes at most three decimals.
    return ApiRequest(
        "GET",
        path("jobs", job_id),
        query(wait=f"{math.floor(hold * 1000) / 1000:.3f}"),
        extra_read_seconds=hold,
        retry_rate_limited=False,
    )


def job_filters(
    *,
    status: str | None,
    type: str | None,
    created_after: Timestamp | None,
    created_before: Timestamp | None,
    limit: int | None,
    org_id: str | None,
) -> tuple[tuple[str, QueryValue], ...]:
    return query(
        status=status,
        type=type,
        created_after=_timestamp(created_after),
        created_before=_timestamp(created_before),
        limit=limit,
        org_id=org_id,
    )


def _timestamp(moment: Timestamp | None) -> str | None:
    if moment is None or isinstance(moment, str):
        return moment
    if moment.tzinfo is None:
        raise ValueError("a timestamp filter needs a time zone (an aware datetime)")
    return format_timestamp(moment)


# --- artifacts and exports: creates that wait -----------------------------------------------------


# A sync create (`POST /v1/artifacts`, `POST /v1/exports`) is held by the server
# until the work is done or its sync wait ends (nxdocs: 60 s by default), then
# answered 202: the read waits that long beyond the client's own timeout, so
# the answer is not lost to a timeout racing it (and retried as a conflict).
SYNC_CREATE_HOLD_SECONDS = 60.0


def create(
    core: Core,
    model: type[M],
    url: str,
    body: Mapping[str, Any],
    idempotency_key: str | None,
    *,
    held: bool = False,
) -> Operation[M]:
    """POST a create with its Idempotency-Key (made here unless given); `held` for
    a sync create, which the server holds while the work runs."""
    key = idempotency_key or new_idempotency_key()
    request = ApiRequest(
        "POST",
        url,
        json=dict(body),
        idempotency_key=key,
        extra_read_seconds=SYNC_CREATE_HOLD_SECONDS if held else 0.0,
    )
    return (yield from one(core, model, request))


def finished_artifact(core: Core, artifact: Artifact, timeout: float | None) -> Operation[Artifact]:
    """The artifact once generated (waiting for its job if the sync create answered 202);
    `JobFailedError` if it failed."""
    if artifact.status == "generating" and artifact.job_id is not None:
        yield from wait_job(core, artifact.job_id, timeout)
        artifact = yield from one(core, Artifact, ApiRequest("GET", path("artifacts", artifact.id)))
    if artifact.status == "failed":
        raise _failed(artifact.error, artifact.job_id, artifact)
    return artifact


def finished_export(core: Core, export: Export, timeout: float | None) -> Operation[Export]:
    """The export once its job has finished; `JobFailedError` if it failed."""
    if export.status == "processing" and export.job_id is not None:
        yield from wait_job(core, export.job_id, timeout)
        export = yield from one(core, Export, ApiRequest("GET", path("exports", export.id)))
    if export.status == "failed":
        raise _failed(export.error, export.job_id, export)
    return export


def _failed(error: Any, job_id: str | None, resource: BaseModel) -> JobFailedError:
    code = getattr(error, "code", "FAILED")
    message = getattr(error, "message", "The work failed.")
    return JobFailedError(code, message, job_id=job_id, resource=resource)


def download(core: Core, export_id: str, target: Path, timeout: float | None) -> Operation[Path]:
    """Stream the export's file to `target` (or into it, under the export's `file_name`,
    if it is a directory), waiting for the export first; the file's path."""
    export = yield from one(core, Export, ApiRequest("GET", path("exports", export_id)))
    export = yield from finished_export(core, export, timeout)
    if export.download_url is None:
        raise NxdocsError(f"Export {export_id} has no file to download (purged, or deleted).")
    if target.is_dir():
        target = target / _safe_file_name(export.file_name, f"{export.id}.{export.format}")
    request = ApiRequest("GET", export.download_url, authenticated=False, target=target)
    yield from core.call(request)
    return target


def _safe_file_name(suggested: str | None, fallback: str) -> str:
    """The server's suggested name, as a name only: never a path that leaves the
    chosen folder (`../x`, `/etc/x`), whoever answered."""
    name = Path(suggested or "").name
    return fallback if name in ("", ".", "..") else name


def without_none(**fields: Any) -> dict[str, Any]:
    """A request body without the fields left out (None, or NOT_GIVEN for updates)."""
    return {name: value for name, value in fields.items() if value is not None}


def given(**fields: Any) -> dict[str, Any]:
    """An update's body: fields not given are left out; None is sent (it clears)."""
    return {name: value for name, value in fields.items() if value is not NOT_GIVEN}
