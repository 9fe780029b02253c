"""Where a client connects and with which key: arguments first, then the environment."""

from __future__ import annotations

import os

import httpx

from nxdocs.sdk.core import Core
from nxdocs.sdk.errors import ConfigurationError
from nxdocs.sdk.retries import RetryPolicy
from nxdocs.sdk.wire import Wire

DEFAULT_BASE_URL = "http://127.0.0.1:8000"
"""Where `nxdocs serve` listens by default."""
BASE_URL_VARIABLE = "NXDOCS_BASE_URL"
API_KEY_VARIABLE = "NXDOCS_API_KEY"


def base_url(given: str | None) -> str:
    """The server's root URL, e.g. `https://docs.example.com`.

    A trailing `/v1` (the hosted API's documented base) is accepted and
    dropped: every request names its full path, `/v1/...`.
    """
    url = (given or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL).rstrip("/")
    return url.removesuffix("/v1")


def api_key(given: str | None) -> str:
    key = given or os.environ.get(API_KEY_VARIABLE)
    if not key:
        raise ConfigurationError(f"No API key: pass api_key= or set {API_KEY_VARIABLE}.")
    return key


def build_core(
    api_key_given: str | None,
    base_url_given: str | None,
    timeout: float | httpx.Timeout,
    max_retries: int,
    retry_policy: RetryPolicy | None,
) -> Core:
    """The core both clients build: one server, one key, one retry policy."""
    policy = retry_policy or RetryPolicy(max_retries=max_retries)
    wire = Wire(base_url(base_url_given), api_key(api_key_given), httpx.Timeout(timeout))
    return Core(wire, policy)
