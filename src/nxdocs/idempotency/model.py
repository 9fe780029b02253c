"""What a key's row says about a request that comes with it: a pure decision.

A row is one owner's key. It is bound to the first request's fingerprint,
held by one request at a time (`locked_until`, a time that is also the
holder's fencing token) and, once that request has answered, carries the
response to replay. Deciding is kept apart from the statements that act on
the decision (`nxdocs.idempotency.store`), so every case is a plain value.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Created:
    """What a request holding the key created, recorded in the creating transaction."""

    resource_id: str
    job_id: str


@dataclass(frozen=True, slots=True)
class KeyRow:
    fingerprint: str
    locked_until: int | None
    created: Created | None
    response_status: int | None
    response_body: bytes | None
    expires_at: int

    def locked(self, now: int) -> bool:
        """A request holds the key: it has not answered, and its lock has not run out."""
        return self.response_status is None and (self.locked_until or 0) > now

    def expired(self, now: int) -> bool:
        """Past its lifetime, and held by nobody: the key counts as never used."""
        return self.expires_at <= now and not self.locked(now)


# -- the outcomes a request gets ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Held:
    """The key is this request's until `token` (ms), which fences its writes.

    `created` is set when an earlier holder died after creating its resource:
    the request must answer with that resource instead of creating another.
    """

    token: int
    created: Created | None


@dataclass(frozen=True, slots=True)
class Replay:
    """The key's first request answered this; answer it again."""

    status: int
    body: bytes


@dataclass(frozen=True, slots=True)
class Reused:
    """The key was first used with a different request."""


@dataclass(frozen=True, slots=True)
class InProgress:
    """Another request with the key has not answered yet."""


Claim = Held | Replay | Reused | InProgress


# -- what the store must try before a request gets its outcome -----------------


@dataclass(frozen=True, slots=True)
class Replace:
    """The row is expired: overwrite it as if it were new."""


@dataclass(frozen=True, slots=True)
class TakeOver:
    """Its holder's lock has run out without an answer: take the key over, if the
    lock is still `seen` (so of several requests that try, one wins)."""

    seen: int | None


def decide(
    row: KeyRow, fingerprint: str, now: int
) -> Replay | Reused | InProgress | Replace | TakeOver:
    if row.expired(now):
        return Replace()
    if row.fingerprint != fingerprint:
        return Reused()
    if row.response_status is not None:
        return Replay(row.response_status, row.response_body or b"")
    if row.locked(now):
        return InProgress()
    return TakeOver(row.locked_until)
