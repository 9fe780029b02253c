"""The shared core of `Client` and `AsyncClient`: operations as generators of steps.

An operation (get a job, wait for it, list every page, download a file) is
written once, as a generator that yields `Send` and `Sleep` steps (and `Emit`
for each item of a listing) and receives each `Send`'s outcome: the
`httpx.Response`, or the `httpx.TransportError` that stopped it. The
retries, the backoff and the error mapping live here too (`call`). A client
only drives the generator: `Client` with blocking I/O, `AsyncClient` with
`await`; that is the only code the two do not share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

import httpx

from nxdocs.sdk.errors import NxdocsError
from nxdocs.sdk.retries import RetryPolicy
from nxdocs.sdk.wire import ApiRequest, Wire, connection_error

T = TypeVar("T")


@dataclass(frozen=True)
class Send:
    """Send the request once; the outcome is sent back into the generator."""

    request: ApiRequest


@dataclass(frozen=True)
class Sleep:
    seconds: float


@dataclass(frozen=True)
class Emit(Generic[T]):
    """One item of a listing, handed to the caller's loop."""

    item: T


Step = Send | Sleep | Emit[Any]
Outcome = httpx.Response | httpx.TransportError | None
"""What a driver sends back: a `Send`'s answer or failure; None after the other steps."""
Operation = Generator[Step, Outcome, T]


class Core:
    """What every operation needs: the wire, the retry policy and a monotonic clock."""

    def __init__(
        self, wire: Wire, policy: RetryPolicy, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.wire = wire
        self.policy = policy
        self.clock = clock

    def __repr__(self) -> str:
        return f"Core({self.wire!r})"

    def call(self, request: ApiRequest) -> Operation[httpx.Response]:
        """Send `request` until it succeeds or the policy gives up; the 2xx response."""
        retries = 0
        while True:
            outcome = yield Send(request)
            error: NxdocsError | None
            if isinstance(outcome, httpx.Response):
                error = self.wire.error(outcome)
                if error is None:
                    return outcome
            elif isinstance(outcome, httpx.TransportError):
                error = connection_error(request, outcome)
            else:
                raise TypeError(f"a Send step needs a response, not {outcome!r}")
            delay = self.policy.delay(retries, error, request)
            if delay is None:
                raise error
            retries += 1
            yield Sleep(delay)

    def json(self, request: ApiRequest) -> Operation[Any]:
        response = yield from self.call(request)
        return self.wire.json(response)
