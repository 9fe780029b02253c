"""The SDK's one exception tree: every error the SDK raises is an `NxdocsError`.

    NxdocsError
    ├── ConfigurationError        no API key given or in NXDOCS_API_KEY
    ├── APIConnectionError        the server could not be reached (after retries)
    │   └── APITimeoutError       no answer in time
    ├── APIError                  the server answered with an error status
    │   ├── ValidationError       400, 422 (VALIDATION_ERROR; `details` names the fields)
    │   ├── AuthenticationError   401 (UNAUTHORIZED)
    │   ├── NotFoundError         404 (NOT_FOUND)
    │   ├── ConflictError         409 (CONFLICT, IDEMPOTENCY_KEY_REUSED)
    │   ├── PayloadTooLargeError  413 (PAYLOAD_TOO_LARGE)
    │   ├── RateLimitError        429 (RATE_LIMITED; `retry_after`)
    │   └── ServerError           5xx (INTERNAL_ERROR, SERVICE_UNAVAILABLE)
    ├── JobFailedError            the work a create or download waited for ended `failed`
    ├── WaitTimeoutError          a wait ran out with the job still processing
    └── WebhookVerificationError  a webhook's signature or timestamp does not verify

No message, repr or attribute of these ever holds the API key: they are built
from the server's answer and the request's method and path only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class NxdocsError(Exception):
    """Base of every exception the SDK raises."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigurationError(NxdocsError):
    """The client cannot be built: no API key as an argument or in NXDOCS_API_KEY."""


class APIConnectionError(NxdocsError):
    """No HTTP answer: the connection failed or broke (after the retries)."""


class APITimeoutError(APIConnectionError):
    """The server did not answer within the client's timeout (after the retries)."""


class APIError(NxdocsError):
    """The server answered with an error status; `code` is the body's `error.code`."""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        code: str,
        details: list[Mapping[str, Any]] | None = None,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.details = details or []
        self.retry_after = retry_after
        self.request_id = request_id

    def __str__(self) -> str:
        return f"{self.code} ({self.status_code}): {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status_code={self.status_code}, code={self.code!r})"


class ValidationError(APIError):
    """400 or 422: the request's body or parameters are invalid (`details` names them)."""


class AuthenticationError(APIError):
    """401: the API key is missing, unknown or revoked."""


class NotFoundError(APIError):
    """404: no such resource, or another owner's."""


class ConflictError(APIError):
    """409: the request conflicts with the resource's state (a finished job cancelled, an
    Idempotency-Key reused for another request or still in use)."""


class PayloadTooLargeError(APIError):
    """413: the request body is over the server's limit."""


class RateLimitError(APIError):
    """429: over the request rate, a queue or a quota; `retry_after` says when to retry."""


class ServerError(APIError):
    """5xx: the server failed or is unavailable for now."""


class JobFailedError(NxdocsError):
    """The job a create or a download waited for ended `failed`.

    `code` and `message` are the work's error (e.g. `GOOGLE_AUTH_REQUIRED`);
    `resource` is the failed artifact or export as the server shows it.
    """

    def __init__(self, code: str, message: str, *, job_id: str | None, resource: Any) -> None:
        super().__init__(message)
        self.code = code
        self.job_id = job_id
        self.resource = resource

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


class WaitTimeoutError(NxdocsError, TimeoutError):
    """A wait for a job ran out while it was still processing; `job` is its last state."""

    def __init__(self, message: str, *, job: Any) -> None:
        super().__init__(message)
        self.job = job


class WebhookVerificationError(NxdocsError):
    """A webhook request's signature does not match, or its timestamp is too old or new."""


STATUS_ERRORS: Mapping[int, type[APIError]] = {
    400: ValidationError,
    401: AuthenticationError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: ValidationError,
    429: RateLimitError,
}


def error_class(status_code: int) -> type[APIError]:
    """The exception class of an error status."""
    if status_code >= 500:
        return ServerError
    return STATUS_ERRORS.get(status_code, APIError)
