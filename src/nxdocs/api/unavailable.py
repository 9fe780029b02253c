"""Database and object store outages answer 503 with Retry-After, never 500.

A PostgreSQL restart or failover, an exhausted connection pool, or a SQLite
file that is locked or gone is not a bug: the same request will likely work
in a moment. `nxdocs.db.outage.is_outage` is the one classification of such
database errors; an S3 bucket that refuses or cannot be reached raises
`BlobStoreError`. `CatchAllErrors` (the poll route and everything else outside
FastAPI) and FastAPI's error handler (`nxdocs.api.error_handlers`) both ask
`is_unavailable`, so every route answers an outage the same way.
"""

from __future__ import annotations

from starlette.responses import Response

from nxdocs.api.errors import ApiError
from nxdocs.api.responses import error_response
from nxdocs.db.outage import is_outage
from nxdocs.storage.errors import BlobStoreError

RETRY_AFTER_SECONDS = 2


class ServiceUnavailableError(ApiError):
    """503: the database cannot be reached right now; retry after `Retry-After`."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
    message = "The service is temporarily unavailable; try again shortly."


def unavailable_response() -> Response:
    return error_response(ServiceUnavailableError(), {"Retry-After": str(RETRY_AFTER_SECONDS)})


def is_unavailable(exc: BaseException) -> bool:
    """True when `exc` says a service we depend on is away, not that we erred."""
    return isinstance(exc, BlobStoreError) or is_outage(exc)
