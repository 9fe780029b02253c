"""`HttpImageLoader`: the image loader that fetches http(s) URLs with httpx.

Image URLs come from untrusted documents and are fetched by the server, so
the loader bounds what a URL can make it do: http(s) only, a timeout, a size
limit on the decoded body, a few redirects each checked again, and by default
no hosts that resolve to loopback, private, link-local or other non-global
addresses (cloud metadata endpoints, the database, the API itself).

Each host name is resolved once, its addresses checked, and the connection
made to a checked address (`pinned_transport`), so a DNS server that answers
differently the second time (rebinding) gets no second question. One loader
serves one export and spends one `ImageBudget` (`image_budget`): past it,
images are refused and drawn as their alt text.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Iterable
from types import TracebackType

import httpx

from nxdocs.net.pinned_transport import (
    NETWORK_ERRORS,
    AddressPolicy,
    AddressRefusedError,
    IPNetwork,
    PinnedAddresses,
    PinnedTransport,
    Resolver,
    resolve_host,
)
from nxdocs.render.image_budget import DEFAULT_IMAGE_BUDGET, Clock, ImageBudget, ImageSpending

_MAX_REDIRECTS = 5

logger = logging.getLogger(__name__)


class _RefusedError(Exception):
    """The URL or its response breaks one of the loader's limits."""


class HttpImageLoader:
    """Fetches images over http(s); any failure gives None, never an exception.

    One loader per export: its budget and its resolved names last as long as
    it does. Safe to call from `budget.max_concurrent` threads at once (more
    wait their turn). Use it as a context manager, or call `close()`, to
    release its connections.

    `allow_private_hosts` lifts the address check (tests, intranet images);
    `allowed_networks` admits some non-global ranges only (an intranet image
    server). `resolver`, `ssl_context` and `clock` default to the system's.
    """

    def __init__(
        self,
        timeout: float = 10.0,
        max_bytes: int = 10_000_000,
        *,
        budget: ImageBudget = DEFAULT_IMAGE_BUDGET,
        allow_private_hosts: bool = False,
        allowed_networks: Iterable[str | IPNetwork] = (),
        resolver: Resolver = resolve_host,
        ssl_context: ssl.SSLContext | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._budget = budget
        self._spending = ImageSpending(budget, clock)
        self._clock = clock
        self._slots = threading.BoundedSemaphore(budget.max_concurrent)
        self._spent_logged = False
        policy = AddressPolicy(allowed_networks, allow_all=allow_private_hosts)
        self._pins = PinnedAddresses(resolver, policy)
        transport = PinnedTransport(
            self._pins, max_connections=budget.max_concurrent, ssl_context=ssl_context
        )
        self._client = httpx.Client(
            timeout=timeout, transport=transport, follow_redirects=False, trust_env=False
        )

    @property
    def max_concurrent(self) -> int:
        """How many threads may call the loader at once (`ConcurrentImageLoader`)."""
        return self._budget.max_concurrent

    def __call__(self, src: str, /) -> tuple[bytes, str] | None:
        try:
            _checked_url(src)
            if not self._spending.start_image():
                raise _RefusedError("the export's image budget is spent")
            # Waiting for a slot is bounded by the budget's deadline too.
            if not self._slots.acquire(timeout=self._spending.seconds_left()):
                raise _RefusedError("no fetch slot before the image deadline")
            try:
                return self._fetch(src)
            finally:
                self._slots.release()
        except _FETCH_FAILURES as exc:
            self._log_if_spent(exc)
            return None
        except (httpx.InvalidURL, OSError, ValueError):
            return None

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpImageLoader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _fetch(self, url: str) -> tuple[bytes, str]:
        # httpx's timeout bounds each network read; the deadline bounds the
        # whole fetch, so a server trickling bytes cannot hold a render forever.
        deadline = self._clock() + self._timeout * (_MAX_REDIRECTS + 1)
        # Redirects are followed by hand so that every hop gets the same checks.
        for _ in range(_MAX_REDIRECTS + 1):
            # The ASCII (IDNA) form: the name httpcore hands to connect_tcp.
            self._pins.pin(_checked_url(url).raw_host.decode("ascii"))
            with self._client.stream("GET", url, timeout=self._hop_timeout(deadline)) as response:
                if response.is_redirect:
                    url = str(response.url.join(response.headers["location"]))
                    continue
                return self._read(response, deadline)
        raise _RefusedError("too many redirects")

    def _hop_timeout(self, deadline: float) -> float:
        left = min(self._timeout, deadline - self._clock(), self._spending.seconds_left())
        if left <= 0:
            raise _RefusedError("image download too slow")
        return left

    def _read(self, response: httpx.Response, deadline: float) -> tuple[bytes, str]:
        if response.status_code != httpx.codes.OK:
            raise _RefusedError(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and (
            int(declared) > self._max_bytes or not self._spending.fits(int(declared))
        ):
            raise _RefusedError("image too large")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self._max_bytes or not self._spending.take_bytes(len(chunk)):
                raise _RefusedError("image too large")
            if self._clock() > deadline or self._spending.seconds_left() <= 0:
                raise _RefusedError("image download too slow")
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return bytes(body), mime or "application/octet-stream"

    def _log_if_spent(self, exc: Exception) -> None:
        if self._spending.spent and not self._spent_logged:
            self._spent_logged = True  # once per export; a race may log twice, harmlessly
            logger.warning(
                "image budget %s spent (%s); later images get alt text", self._budget, exc
            )


_FETCH_FAILURES: tuple[type[Exception], ...] = (
    _RefusedError,
    AddressRefusedError,
    httpx.HTTPError,
    *NETWORK_ERRORS,
)


def _checked_url(url: str) -> httpx.URL:
    parsed = httpx.URL(url)
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise _RefusedError("only absolute http(s) URLs are fetched")
    return parsed
