"""`GET /readyz`: whether this process can do its work now, for load balancers and orchestrators.

`/health` says the process answers (liveness). `/readyz` also runs the checks
of `nxdocs.api.readiness`: the database, its schema, and the embedded worker if any.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from nxdocs.api.deps import ReadinessDep
from nxdocs.api.errors import ApiError
from nxdocs.api.objects import ErrorBody
from nxdocs.api.openapi import INTERNAL
from nxdocs.api.readiness import ReadyChecks

# A schema `ahead` is a rolling upgrade under way, which this code runs on; `not
# checked` follows a database that failed, which is reported on its own.
_FINE = ("ok", "not running here", "ahead", "not checked")


class NotReadyError(ApiError):
    """503: a readiness check failed; `details` names each failed check."""

    status = 503
    code = "NOT_READY"
    message = "The service is not ready."


class Ready(BaseModel):
    ok: Literal[True]
    service: Literal["nxdocs"]
    checks: ReadyChecks


router = APIRouter(tags=["health"])


@router.get(
    "/readyz",
    summary="Readiness: the database answers, its schema is current, the embedded worker runs",
    # FastAPI documents the 200 body's schema only for a JSONResponse class.
    response_class=JSONResponse,
    responses={
        503: {"model": ErrorBody, "description": "A check failed (code NOT_READY)."},
        **INTERNAL,
    },
)
async def readyz(readiness: ReadinessDep) -> Ready:
    checks = await readiness.checks()
    failed = {name: state for name, state in checks.model_dump().items() if state not in _FINE}
    if failed:
        message = "Not ready: " + "; ".join(f"{name} {state}" for name, state in failed.items())
        details = [{"field": name, "message": state} for name, state in failed.items()]
        raise NotReadyError(f"{message}.", details=details)
    return Ready(ok=True, service="nxdocs", checks=checks)
