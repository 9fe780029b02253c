"""The Python SDK of the nxdocs (NextDocs v1) API: `Client`, `AsyncClient`, models, errors.

See docs/sdk.md. Importing it loads httpx, pydantic and standardwebhooks,
never the server.
"""

from nxdocs.sdk.async_client import AsyncClient
from nxdocs.sdk.client import Client
from nxdocs.sdk.errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    ConflictError,
    JobFailedError,
    NotFoundError,
    NxdocsError,
    PayloadTooLargeError,
    RateLimitError,
    ServerError,
    ValidationError,
    WaitTimeoutError,
    WebhookVerificationError,
)
from nxdocs.sdk.models import (
    Artifact,
    Deleted,
    Export,
    Job,
    Progress,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    WorkError,
)
from nxdocs.sdk.operations import NOT_GIVEN
from nxdocs.sdk.retries import RetryPolicy
from nxdocs.sdk.webhooks import verify

__all__ = [
    "NOT_GIVEN",
    "APIConnectionError",
    "APIError",
    "APITimeoutError",
    "Artifact",
    "AsyncClient",
    "AuthenticationError",
    "Client",
    "ConfigurationError",
    "ConflictError",
    "Deleted",
    "Export",
    "Job",
    "JobFailedError",
    "NotFoundError",
    "NxdocsError",
    "PayloadTooLargeError",
    "Progress",
    "RateLimitError",
    "RetryPolicy",
    "ServerError",
    "ValidationError",
    "WaitTimeoutError",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "WebhookVerificationError",
    "WorkError",
    "verify",
]
