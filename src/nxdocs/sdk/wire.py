"""Requests and answers on the wire, the same for `Client` and `AsyncClient`.

`ApiRequest` is what an operation asks for; `Wire` turns it into an
`httpx.Request` (base URL, key, Idempotency-Key, timeouts) and turns an answer
into its JSON or into the exception its status means. Nothing here does I/O.
"""

from __future__ import annotations

import datetime
import email.utils
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from nxdocs import __version__
from nxdocs.sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    NxdocsError,
    error_class,
)

USER_AGENT = f"nxdocs-python/{__version__}"
QueryValue = str | int | float


@dataclass(frozen=True)
class ApiRequest:
    """One HTTP exchange an operation needs; sent again unchanged on each retry, so a
    create's Idempotency-Key is the same on every attempt."""

    method: str
    path: str
    """`/v1/...` under the base URL, or an absolute URL (a download link)."""
    params: Sequence[tuple[str, QueryValue]] = ()
    json: Any = None
    idempotency_key: str | None = None
    authenticated: bool = True
    """False for download links: they work without the key, which must not leave for
    another host (an S3 bucket's presigned URL)."""
    extra_read_seconds: float = 0.0
    """Added to the read timeout: a long-poll's `wait`."""
    retry_rate_limited: bool = True
    target: Path | None = None
    """Stream a 2xx body to this file instead of reading it."""


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def query(**values: QueryValue | None) -> tuple[tuple[str, QueryValue], ...]:
    """Query parameters, leaving out the ones that are None."""
    return tuple((name, value) for name, value in values.items() if value is not None)


class Wire:
    """Builds requests for one server and key, and reads its answers."""

    def __init__(self, base_url: str, api_key: str, timeout: httpx.Timeout) -> None:
        self.base_url = base_url
        self._api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:
        return f"Wire(base_url={self.base_url!r})"

    def build(self, request: ApiRequest) -> httpx.Request:
        absolute = request.path.startswith(("http://", "https://"))
        url = request.path if absolute else self.base_url + request.path
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if request.authenticated:
            headers["Authorization"] = f"Bearer {self._api_key}"
        if request.idempotency_key is not None:
            headers["Idempotency-Key"] = request.idempotency_key
        timeout = self.timeout
        if request.extra_read_seconds:
            read = (timeout.read or 0.0) + request.extra_read_seconds
            timeout = httpx.Timeout(
                connect=timeout.connect, read=read, write=timeout.write, pool=timeout.pool
            )
        return httpx.Request(
            request.method,
            url,
            # None, not []: httpx would re-encode the query of a download link,
            # breaking its signature.
            params=list(request.params) or None,
            json=request.json,
            headers=headers,
            extensions={"timeout": timeout.as_dict()},
        )

    @staticmethod
    def error(response: httpx.Response) -> APIError | None:
        """The exception an answer's status means; None for a 2xx."""
        if response.is_success:
            return None
        code, message, details = _error_body(response)
        return error_class(response.status_code)(
            message,
            status_code=response.status_code,
            code=code,
            details=details,
            retry_after=retry_after(response.headers),
            request_id=response.headers.get("request-id"),
        )

    @staticmethod
    def json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise APIError(
                "The server's answer is not JSON.",
                status_code=response.status_code,
                code="INVALID_RESPONSE",
            ) from None


def connection_error(request: ApiRequest, exc: httpx.TransportError) -> NxdocsError:
    """The SDK's exception for a request that got no answer; names the path, never the key."""
    what = f"{request.method} {httpx.URL(request.path).path}"
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(f"{what}: no answer in time ({type(exc).__name__}).")
    return APIConnectionError(f"{what}: {type(exc).__name__}: {exc}")


def retry_after(headers: httpx.Headers) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date (seconds from now)."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:  # "-0000": a time in UTC, said without a zone
        moment = moment.replace(tzinfo=datetime.UTC)
    now = email.utils.localtime()
    return max(0.0, (moment - now).total_seconds())


def _error_body(response: httpx.Response) -> tuple[str, str, list[Mapping[str, Any]]]:
    """(code, message, details) of `{"error": {...}}`, or of the status for any other body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("code"), str):
        details = error.get("details")
        return (
            error["code"],
            str(error.get("message") or response.reason_phrase),
            details if isinstance(details, list) else [],
        )
    return f"HTTP_{response.status_code}", response.reason_phrase or "Error", []
