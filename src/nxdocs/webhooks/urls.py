"""Which URLs an endpoint may have: http(s), no credentials, and a host whose every
address the policy allows (no loopback, private, link-local or metadata
addresses unless `--webhook-allowed-networks` admits them).

Checked when an endpoint is created or changed, and again at every send
through the sender's pinned connections (`nxdocs.net.pinned_transport`), so
a name that later resolves to an internal address is refused then too.
"""

from __future__ import annotations

import httpx

from nxdocs.net.pinned_transport import (
    AddressPolicy,
    AddressRefusedError,
    PinnedAddresses,
    Resolver,
)

MAX_URL_LENGTH = 2048
MAX_PORT = 65_535


class EndpointUrlError(ValueError):
    """The URL cannot be an endpoint's; the message says why, for the client."""


def url_host(url: str) -> str:
    """The URL's host as connections name it (IDNA ASCII), after the shape checks."""
    if len(url) > MAX_URL_LENGTH:
        raise EndpointUrlError(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError, ValueError):
        raise EndpointUrlError("The URL is not a valid absolute http(s) URL.") from None
    if parsed.scheme not in ("http", "https") or not host:
        raise EndpointUrlError("The URL must be an absolute http:// or https:// URL.")
    if parsed.userinfo:
        raise EndpointUrlError("The URL must not carry credentials; verify signatures instead.")
    if parsed.fragment:
        raise EndpointUrlError("The URL must not have a #fragment.")
    # httpx keeps any number as the port, and the socket layer would wrap one
    # above 65535 around to another port than the URL names.
    if parsed.port is not None and not 0 < parsed.port <= MAX_PORT:
        raise EndpointUrlError(f"The URL's port must be between 1 and {MAX_PORT}.")
    return host


def check_url(url: str, policy: AddressPolicy, resolver: Resolver) -> None:
    """Raise `EndpointUrlError` unless `url` may be an endpoint's now."""
    host = url_host(url)
    try:
        PinnedAddresses(resolver, policy).pin(host)
    except AddressRefusedError:
        raise EndpointUrlError(
            "The URL's host does not resolve, or resolves to an address that is not "
            "allowed (loopback, private, link-local and metadata addresses are refused)."
        ) from None
