"""The options every client command shares, and the SDK client they configure."""

from __future__ import annotations

from typing import Annotated

import typer

from nxdocs.sdk import Client
from nxdocs.sdk.config import API_KEY_VARIABLE, BASE_URL_VARIABLE, DEFAULT_BASE_URL

BaseUrl = Annotated[
    str | None,
    typer.Option(
        "--base-url",
        envvar=BASE_URL_VARIABLE,
        help=f"The server's root URL, with or without /v1 (default: {DEFAULT_BASE_URL}).",
        show_default=False,
    ),
]
ApiKey = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar=API_KEY_VARIABLE,
        help="Your API key, nxd_... (better in the variable: a flag shows in `ps`).",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")]
OrgId = Annotated[
    str | None,
    typer.Option("--org-id", help="Work in this organization (org_...).", show_default=False),
]
Timeout = Annotated[
    float,
    typer.Option(min=0, help="Seconds to wait for the job before giving up (exit 4)."),
]


def connect(base_url: str | None, api_key: str | None) -> Client:
    """The SDK client the options name; `ConfigurationError` without a key."""
    return Client(api_key, base_url=base_url)
