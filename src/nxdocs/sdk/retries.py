"""When to retry a request, as a pure decision: the delay before the next attempt, or None.

Retried: 429 (refused before anything ran; unless the request opts out, as a
long-poll does, which falls back to plain polls instead), and for requests that are safe to
send twice (GET, PATCH, DELETE, and creates, which carry an Idempotency-Key)
5xx answers and connection errors; also a create's 409 CONFLICT that carries
Retry-After, which is the server saying "this key's first request is still
running". The delay is the server's Retry-After when it sends one, else
exponential backoff with full jitter; a Retry-After beyond
`max_retry_after` (the monthly export quota's, which lasts until the month
ends) is not waited for: the error is raised at once.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field

from nxdocs.sdk.errors import (
    APIConnectionError,
    APIError,
    ConflictError,
    NxdocsError,
    RateLimitError,
    ServerError,
)
from nxdocs.sdk.wire import ApiRequest

SAFE_METHODS = frozenset({"GET", "HEAD", "PATCH", "DELETE"})


@dataclass(frozen=True)
class RetryPolicy:
    """`max_retries` retries after the first attempt; backoff `base * 2**n`, capped at `cap`."""

    max_retries: int = 3
    base_seconds: float = 0.5
    cap_seconds: float = 30.0
    max_retry_after: float = 60.0
    jitter: Callable[[], float] = field(default=random.random, compare=False)
    """Uniform in [0, 1); injected by tests that want exact delays."""

    def delay(self, retries_done: int, error: NxdocsError, request: ApiRequest) -> float | None:
        """Seconds to wait before retrying `request` after `error`, or None to raise it."""
        if retries_done >= self.max_retries or not _retryable(error, request):
            return None
        retry_after = error.retry_after if isinstance(error, APIError) else None
        if retry_after is not None:
            return retry_after if retry_after <= self.max_retry_after else None
        return self.jitter() * min(self.cap_seconds, self.base_seconds * 2.0**retries_done)


def _retryable(error: NxdocsError, request: ApiRequest) -> bool:
    if isinstance(error, RateLimitError):
        return request.retry_rate_limited
    keyed = request.idempotency_key is not None
    if isinstance(error, ConflictError):
        return keyed and error.code == "CONFLICT" and error.retry_after is not None
    safe = request.method in SAFE_METHODS or keyed
    return safe and isinstance(error, ServerError | APIConnectionError)
