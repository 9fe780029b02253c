"""The API's exception tree: each class is one documented error of the contract.

Domain code raises these; exactly one handler (`nxdocs.api.error_handlers`) turns them
into `{"error": {"code", "message", "details"?}}` with the class's status.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Base class: an HTTP error in the contract's shape."""

    status = 500
    code = "INTERNAL_ERROR"
    message = "An internal error occurred."

    def __init__(
        self,
        message: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details
        self.headers = headers

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.details is not None:
            error["details"] = self.details
        return {"error": error}


class ValidationFailedError(ApiError):
    """400: the request body or parameters are invalid; `details` names the fields."""

    status = 400
    code = "VALIDATION_ERROR"
    message = "Request validation failed."


class UnauthorizedError(ApiError):
    """401: the key is missing, malformed, unknown or revoked."""

    status = 401
    code = "UNAUTHORIZED"
    message = "Authentication required or API key is invalid."


class ForbiddenError(ApiError):
    """403: a signed link whose signature does not match."""

    status = 403
    code = "FORBIDDEN"
    message = "The link's signature is invalid."


class NotFoundError(ApiError):
    """404: no such resource, or it belongs to another owner."""

    status = 404
    code = "NOT_FOUND"
    message = "The requested resource was not found."


class MethodNotAllowedError(ApiError):
    """405: the route exists but not with this method."""

    status = 405
    code = "METHOD_NOT_ALLOWED"
    message = "This method is not allowed on this resource."


class ConflictError(ApiError):
    """409: the request conflicts with the resource's state (e.g. cancelling a finished job)."""

    status = 409
    code = "CONFLICT"
    message = "The request conflicts with the current state of the resource."


class GoneError(ApiError):
    """410: a signed link that has expired."""

    status = 410
    code = "LINK_EXPIRED"
    message = "The link has expired; fetch the resource again for a fresh one."


class PayloadTooLargeError(ApiError):
    """413: the request body is over the size limit."""

    status = 413
    code = "PAYLOAD_TOO_LARGE"
    message = "The request body is too large."


class UnsupportedMediaTypeError(ApiError):
    """415: a body that is not JSON."""

    status = 415
    code = "UNSUPPORTED_MEDIA_TYPE"
    message = "Request bodies must be JSON (Content-Type: application/json)."


class RateLimitedError(ApiError):
    """429: too many requests, or a monthly quota is used up."""

    status = 429
    code = "RATE_LIMITED"
    message = "Too many requests; retry later."


class IdempotencyKeyReusedError(ApiError):
    """409: the Idempotency-Key was first used with a different request."""

    status = 409
    code = "IDEMPOTENCY_KEY_REUSED"
    message = (
        "This Idempotency-Key was already used with a different request "
        "(method, path or body); use a new key for a new request."
    )


class InternalError(ApiError):
    """500: a bug; the details go to the log, never to the client."""


def invalid(field: str, message: str) -> ValidationFailedError:
    """A 400 naming one field, e.g. `raise invalid("theme_id", "no such theme")`."""
    return ValidationFailedError(details=[{"field": field, "message": message}])


class ExportFailedError(ApiError):
    """409 with the failed export's own code (e.g. RENDER_FAILED)."""

    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
