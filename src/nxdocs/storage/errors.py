"""What the blob stores raise.

Both are OSErrors: the callers that already handle a local file's failure (a
put that fails, a read cut short) handle an object store's alike, and a job
that meets one fails as any unexpected error does, to be retried.
"""

from __future__ import annotations


class BlobStoreError(OSError):
    """A call to the object store failed: refused, unreachable, or cut short. The
    message says which, and never holds a credential."""


class BlobStoreUnavailableError(BlobStoreError):
    """The configured object store cannot be used, found at start-up: the one-line
    message names the endpoint and the bucket, and what to check."""
