"""The one place domain errors become HTTP responses in the contract's shape."""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import iter_route_contexts
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from nxdocs.api.errors import (
    ApiError,
    InternalError,
    MethodNotAllowedError,
    NotFoundError,
    RateLimitedError,
    ValidationFailedError,
    invalid,
)
from nxdocs.api.idempotency import in_progress
from nxdocs.api.responses import error_response
from nxdocs.api.unavailable import is_unavailable, unavailable_response
from nxdocs.artifacts.requests import FieldError
from nxdocs.idempotency.store import KeyTakenOverError
from nxdocs.jobs.store import TooManyActiveJobsError

# Jobs take seconds to minutes: a few seconds is the soonest a slot may free up.
_BUSY_RETRY_AFTER_SECONDS = 5
_BY_STATUS: dict[int, type[ApiError]] = {404: NotFoundError, 405: MethodNotAllowedError}


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(FieldError, _field_error)
    app.add_exception_handler(TooManyActiveJobsError, _too_many_jobs)
    app.add_exception_handler(KeyTakenOverError, _key_taken_over)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    # Starlette renders this for any other exception and then re-raises it;
    # nxdocs.api.catch_all logs a safe summary of it.
    app.add_exception_handler(Exception, _unexpected_error)


async def _api_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(exc, exc.headers)


async def _field_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, FieldError)
    return error_response(invalid(exc.field, exc.message))


async def _too_many_jobs(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyActiveJobsError)
    error = RateLimitedError(
        f"{exc.limit} jobs of yours are queued or running, the most allowed; "
        "retry when some have finished."
    )
    return error_response(error, {"Retry-After": str(_BUSY_RETRY_AFTER_SECONDS)})


async def _key_taken_over(_request: Request, exc: Exception) -> Response:
    """The request outlived its Idempotency-Key's lock and another took the key
    over; its create was rolled back, and the other request answers for the key."""
    assert isinstance(exc, KeyTakenOverError)
    return in_progress()


async def _validation_error(_request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    details = [{"field": _field(error), "message": _message(error)} for error in exc.errors()]
    return error_response(ValidationFailedError(details=details))


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    error_class = _BY_STATUS.get(exc.status_code)
    if error_class is not None:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
        return error_response(error_class(), headers)
    error = ApiError(str(exc.detail))
    error.status, error.code = exc.status_code, "HTTP_ERROR"
    return error_response(error)


def _allowed_methods(request: Request, named: str) -> str:
    """Every method of the routes at this path: Starlette's 405 names only the first
    route's (`GET` for a path that also takes `DELETE`), and a mounted app's (static
    files) only its own, in `named`. The routes at the path are those of the first
    route that matches it, as the router tries them (`/v1/artifacts/async` is not
    `/v1/artifacts/{id}`), with the prefixes of the routers that include them."""
    methods = {method.strip() for method in named.split(",")} - {""}
    path = request.scope["path"]
    template: str | None = None
    for route in iter_route_contexts(request.app.routes):
        pattern = getattr(route, "path_regex", None)
        if route.methods and isinstance(pattern, re.Pattern) and pattern.match(path):
            template = template or route.path_format
            if route.path_format == template:
                methods |= route.methods
    return ", ".join(sorted(methods))


async def _unexpected_error(_request: Request, exc: Exception) -> Response:
    """A database outage is a 503 (`nxdocs.api.unavailable`); anything else is a bug."""
    if is_unavailable(exc):
        return unavailable_response()
    return error_response(InternalError())


def _message(error: dict[str, Any]) -> str:
    # A body that does not parse: the reason is nxdocs.api.json_body's own message.
    if error.get("type") == "json_invalid":
        reason = (error.get("ctx") or {}).get("error")
        return f"The body is not valid JSON: {reason}" if reason else "The body is not valid JSON"
    return str(error["msg"])


def _field(error: dict[str, object]) -> str:
    # A JSON syntax error's location is a character offset, not a field.
    if error.get("type") == "json_invalid":
        return "body"
    location = error.get("loc", ())
    assert isinstance(location, tuple | list)
    return _field_name(location)


def _field_name(location: tuple[object, ...] | list[object]) -> str:
    """`("body", "pages", 0)` -> `pages[0]`: the field as the client wrote it."""
    parts = [part for part in location if part not in ("body", "query", "path", "header")]
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "body"
