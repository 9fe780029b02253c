"""Connections that go only to addresses already checked: no DNS rebinding.

Checking a host name's addresses and then letting the HTTP client resolve the
name again to connect leaves a gap: a hostile DNS server can answer with a
public address for the check and with 127.0.0.1 (or the cloud metadata
endpoint) for the connection. Here a name is resolved once, every address it
resolves to is checked, and the checked addresses are pinned; the one place
that opens TCP connections, `PinnedBackend.connect_tcp`, connects only to a
pinned address and refuses a name that has none. The URL, the Host header,
TLS SNI and certificate verification all keep the host name, because httpcore
takes them from the request's origin and only the TCP connect is replaced.

A name is resolved once per `PinnedAddresses`, that is once per export, and
its answer (or its refusal) holds for the export's every fetch and redirect;
a long-lived one (the webhook sender's) resolves again once an answer is
`max_age_seconds` old.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar

import httpcore
import httpx

Resolver = Callable[[str], Sequence[str]]
"""A host name to its IP addresses, as strings; raises OSError when it has none."""

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# Tried in order, as socket.create_connection would; more are not worth the
# connect timeouts they could add up to.
_MAX_ADDRESSES = 3


def resolve_host(host: str) -> list[str]:
    """The system resolver's addresses for `host` (getaddrinfo, TCP)."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


class AddressRefusedError(Exception):
    """The host has no address, or one of its addresses is not allowed."""


class AddressPolicy:
    """Which addresses may be connected to: global ones, and `allowed_networks`.

    Loopback, private, link-local, shared and reserved ranges are not global
    (`ipaddress`'s `is_global`); an IPv4-mapped IPv6 address is judged as the
    IPv4 address it maps. `allow_all` lifts the check (tests, intranet images).
    """

    def __init__(
        self, allowed_networks: Iterable[str | IPNetwork] = (), *, allow_all: bool = False
    ):
        self._networks = tuple(ipaddress.ip_network(network) for network in allowed_networks)
        self._allow_all = allow_all

    def allows(self, address: IPAddress) -> bool:
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if self._allow_all or any(address in network for network in self._networks):
            return True
        return address.is_global


class PinnedAddresses:
    """Host name -> the addresses checked for it; thread-safe.

    One per export (answers kept for its life), or one per sender with
    `max_age_seconds`, after which a name is resolved and checked again.
    """

    def __init__(
        self,
        resolver: Resolver,
        policy: AddressPolicy,
        *,
        max_age_seconds: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._resolver = resolver
        self._policy = policy
        self._max_age = max_age_seconds
        self._clock = clock
        self._lock = threading.Lock()
        # host -> (addresses, when resolved); () means refused
        self._answers: dict[str, tuple[tuple[str, ...], float]] = {}

    def pin(self, host: str) -> None:
        """Resolve and check `host` unless done already; raise if it is refused."""
        with self._lock:
            found = self._answers.get(host)
        if found is None or self._stale(found[1]):
            # Resolved outside the lock, so one slow name does not hold up the
            # others; if two threads race, either answer is safe (both were checked).
            found = (self._checked(host), self._clock())
            with self._lock:
                self._answers[host] = found
        if not found[0]:
            raise AddressRefusedError(f"the host {host!r} is not an allowed address")

    def _stale(self, resolved_at: float) -> bool:
        return self._max_age is not None and self._clock() - resolved_at >= self._max_age

    def addresses(self, host: str) -> tuple[str, ...]:
        """The pinned addresses of `host`; empty when it was never pinned or refused."""
        with self._lock:
            found = self._answers.get(host)
        return () if found is None else found[0]

    def _checked(self, host: str) -> tuple[str, ...]:
        try:
            addresses = [ipaddress.ip_address(host)]  # a literal is its own answer
        except ValueError:
            try:
                addresses = [ipaddress.ip_address(found) for found in self._resolver(host)]
            except (OSError, ValueError):
                return ()
        if not addresses or not all(self._policy.allows(address) for address in addresses):
            return ()
        return tuple(str(address) for address in addresses[:_MAX_ADDRESSES])


_DEADLINE: ContextVar[float | None] = ContextVar("pinned_deadline", default=None)


@contextmanager
def deadline(at: float) -> Iterator[None]:
    """Bound every read, write and TLS handshake of the pinned connections used in the
    block by `at` (time.monotonic()): past it, the next one raises a timeout, so a peer
    that sends a byte at a time cannot stretch a request beyond it."""
    token = _DEADLINE.set(at)
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def _bounded(timeout: float | None) -> float | None:
    at = _DEADLINE.get()
    if at is None:
        return timeout
    left = at - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("the request's deadline has passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream) -> None:
        self._stream = stream

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, _bounded(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, _bounded(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        return _DeadlineStream(
            self._stream.start_tls(ssl_context, server_hostname, _bounded(timeout))
        )

    def get_extra_info(self, info: str) -> object:
        return self._stream.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, but connecting to pinned addresses only."""

    def __init__(self, pins: PinnedAddresses) -> None:
        self._pins = pins
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception = httpcore.ConnectError(f"{host!r} has no checked address")
        for address in self._pins.addresses(host):
            try:
                return _DeadlineStream(
                    self._sockets.connect_tcp(
                        address, port, _bounded(timeout), local_address, socket_options
                    )
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("pinned connections use TCP only")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class PinnedTransport(httpx.BaseTransport):
    """An httpx transport over an httpcore pool whose connections are pinned.

    httpx's `HTTPTransport` takes no network backend (encode/httpx#3749 would
    add one), so this mirrors its `handle_request` over a public
    `httpcore.ConnectionPool`: request and response are passed through as
    they are. Errors stay httpcore's own (`NETWORK_ERRORS`); no proxy is used,
    since a proxy would resolve the name itself.
    """

    def __init__(
        self, pins: PinnedAddresses, *, max_connections: int, ssl_context: ssl.SSLContext | None
    ) -> None:
        self._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context or httpx.create_ssl_context(),
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            network_backend=PinnedBackend(pins),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.SyncByteStream):  # pragma: no cover
            raise TypeError("the pinned transport sends synchronous requests only")
        response = self._pool.handle_request(
            httpcore.Request(
                method=request.method,
                url=httpcore.URL(
                    scheme=request.url.raw_scheme,
                    host=request.url.raw_host,
                    port=request.url.port,
                    target=request.url.raw_path,
                ),
                headers=request.headers.raw,
                content=request.stream,
                extensions=request.extensions,
            )
        )
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response),
            extensions=response.extensions,
        )

    def close(self) -> None:
        self._pool.close()


class _ResponseStream(httpx.SyncByteStream):
    def __init__(self, response: httpcore.Response) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        yield from self._response.iter_stream()

    def close(self) -> None:
        # Returns the connection to the pool, or drops it if the body was not
        # read to the end.
        self._response.close()


NETWORK_ERRORS: tuple[type[Exception], ...] = (
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpcore.ConnectionNotAvailable,
)
"""What a fetch through `PinnedTransport` raises when the network fails it."""
