"""One delivery attempt over HTTP: signed after Standard Webhooks, sent to a checked
address, its answer read within limits.

Signing is the `standardwebhooks` package's: `webhook-signature` holds one
`v1,...` signature per secret in use (two while a rotation's overlap lasts),
over `{webhook-id}.{webhook-timestamp}.{body}`. Connections go through the
pinned transport, so the host's addresses are checked at every send (names
resolved again after a minute) and a DNS answer cannot point a send at an
internal address. Redirects are not followed, the response is read up to a
small limit, and the whole attempt has a deadline.
"""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import httpcore
import httpx
from standardwebhooks import Webhook

from nxdocs import __version__
from nxdocs.clock import Clock
from nxdocs.net.pinned_transport import (
    NETWORK_ERRORS,
    AddressPolicy,
    AddressRefusedError,
    IPNetwork,
    PinnedAddresses,
    PinnedTransport,
    Resolver,
    deadline,
    resolve_host,
)
from nxdocs.webhooks.deliveries import ClaimedDelivery, Outcome
from nxdocs.webhooks.urls import EndpointUrlError, url_host

_RESOLVE_AGAIN_SECONDS = 60.0
_RESPONSE_EXCERPT_CHARS = 1000
_USER_AGENT = f"nxdocs-webhooks/{__version__}"


_SEND_ERRORS: tuple[type[Exception], ...] = (httpx.HTTPError, OSError, *NETWORK_ERRORS)


class _TooLargeError(Exception):
    pass


class _DeadlineError(Exception):
    pass


class WebhookClient:
    """Thread-safe: the sender's threads share its connection pool."""

    def __init__(
        self,
        clock: Clock,
        *,
        timeout_seconds: float,
        max_response_bytes: int,
        max_connections: int,
        allowed_networks: Iterable[str | IPNetwork] = (),
        resolver: Resolver = resolve_host,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.clock = clock
        self.timeout = timeout_seconds
        self.max_response_bytes = max_response_bytes
        self._pins = PinnedAddresses(
            resolver, AddressPolicy(allowed_networks), max_age_seconds=_RESOLVE_AGAIN_SECONDS
        )
        transport = PinnedTransport(
            self._pins, max_connections=max_connections, ssl_context=ssl_context
        )
        self._client = httpx.Client(
            timeout=timeout_seconds, transport=transport, follow_redirects=False, trust_env=False
        )

    @property
    def longest_attempt_seconds(self) -> float:
        """An attempt never takes longer than this (connect, send, read, each bounded)."""
        return 3 * self.timeout

    def send(self, delivery: ClaimedDelivery) -> Outcome:
        started_at = self.clock.now_ms()
        began = time.monotonic()
        status: int | None = None
        error: str | None = None
        response: str | None = None
        try:
            self._pins.pin(url_host(delivery.url))
            status, response = self._post(delivery, began + self.longest_attempt_seconds)
            if 300 <= status < 400:
                error = f"HTTP {status}: redirects are not followed"
        except (AddressRefusedError, EndpointUrlError):
            error = "The URL's host resolves to an address that is not allowed."
        except _TooLargeError:
            error = f"The response body is larger than {self.max_response_bytes} bytes."
        except (_DeadlineError, httpx.TimeoutException, httpcore.TimeoutException):
            error = f"No complete answer within {self.timeout:g} seconds."
        except _SEND_ERRORS as exc:
            error = f"The request failed: {type(exc).__name__}."
        duration_ms = int((time.monotonic() - began) * 1000)
        return Outcome(started_at, duration_ms, status, error, response)

    def _post(self, delivery: ClaimedDelivery, deadline_at: float) -> tuple[int, str | None]:
        timestamp = int(time.time())
        headers = {
            "content-type": "application/json",
            "user-agent": _USER_AGENT,
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": sign(delivery, timestamp),
        }
        with (
            deadline(deadline_at),
            self._client.stream(
                "POST", delivery.url, content=delivery.payload.encode(), headers=headers
            ) as answer,
        ):
            body = bytearray()
            for chunk in answer.iter_raw():
                body += chunk
                if len(body) > self.max_response_bytes:
                    raise _TooLargeError
                if time.monotonic() > deadline_at:
                    raise _DeadlineError
            return answer.status_code, excerpt(bytes(body))

    def close(self) -> None:
        self._client.close()


def sign(delivery: ClaimedDelivery, timestamp: int) -> str:
    """The `webhook-signature` header: a signature per secret, space-separated."""
    when = datetime.fromtimestamp(timestamp, UTC)
    return " ".join(
        Webhook(secret).sign(delivery.id, when, delivery.payload) for secret in delivery.secrets
    )


def excerpt(body: bytes) -> str | None:
    """The start of a response as storable text (no NUL; invalid UTF-8 replaced)."""
    if not body:
        return None
    text = body[: _RESPONSE_EXCERPT_CHARS * 4].decode("utf-8", errors="replace")
    return text.replace("\x00", "\ufffd")[:_RESPONSE_EXCERPT_CHARS]
