"""`HttpImageLoader`: the image loader that fetches http(s) URLs with httpx.

Image URLs come from untrusted documents and are fetched by the server, so
the loader bounds what a URL can make it do: http(s) only, a timeout, a size
limit on the decoded body, a few redirects each checked again, and by default
no hosts that resolve to loopback, private, link-local or other non-global
addresses (cloud metadata endpoints, the database, the API itself).

The address check resolves the name before httpx connects; a DNS server that
answers differently the second time (rebinding) is not covered by it.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from types import TracebackType
from urllib.parse import urlsplit

import httpx

_MAX_REDIRECTS = 5


class _RefusedError(Exception):
    """The URL or its response breaks one of the loader's limits."""


class HttpImageLoader:
    """Fetches images over http(s); any failure gives None, never an exception.

    Use it as a context manager, or call `close()`, to release connections.
    `allow_private_hosts` lifts the address check (tests, intranet images).
    """

    def __init__(
        self,
        timeout: float = 10.0,
        max_bytes: int = 10_000_000,
        transport: httpx.BaseTransport | None = None,
        *,
        allow_private_hosts: bool = False,
    ) -> None:
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._allow_private_hosts = allow_private_hosts
        self._client = httpx.Client(timeout=timeout, transport=transport, follow_redirects=False)

    def __call__(self, src: str, /) -> tuple[bytes, str] | None:
        try:
            return self._fetch(src)
        except (_RefusedError, httpx.HTTPError, httpx.InvalidURL, OSError, ValueError):
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
        deadline = time.monotonic() + self._timeout * (_MAX_REDIRECTS + 1)
        # Redirects are followed by hand so that every hop gets the same checks.
        for _ in range(_MAX_REDIRECTS + 1):
            self._check_url(url)
            with self._client.stream("GET", url) as response:
                if response.is_redirect:
                    url = str(response.url.join(response.headers["location"]))
                    continue
                return self._read(response, deadline)
        raise _RefusedError("too many redirects")

    def _check_url(self, url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in {"http", "https"} or not parts.hostname:
            raise _RefusedError("only absolute http(s) URLs are fetched")
        if not self._allow_private_hosts:
            _check_public(parts.hostname)

    def _read(self, response: httpx.Response, deadline: float) -> tuple[bytes, str]:
        if response.status_code != httpx.codes.OK:
            raise _RefusedError(f"HTTP {response.status_code}")
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self._max_bytes:
            raise _RefusedError("image too large")
        body = bytearray()
        for chunk in response.iter_bytes():
            body += chunk
            if len(body) > self._max_bytes:
                raise _RefusedError("image too large")
            if time.monotonic() > deadline:
                raise _RefusedError("image download too slow")
        mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
        return bytes(body), mime or "application/octet-stream"


def _check_public(host: str) -> None:
    """Refuse a host unless every address it resolves to is globally routable."""
    infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise _RefusedError("the image host is not a public address")
