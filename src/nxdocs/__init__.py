"""nxdocs: a self-hosted server for the NextDocs public API v1, and its Python SDK.

`from nxdocs import Client, AsyncClient` loads the SDK (`nxdocs.sdk`) on first
use only, so the server's modules, which all live under this package, do not
pay for it, and the SDK never loads the server.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from nxdocs.sdk import AsyncClient, Client

__all__ = ["AsyncClient", "Client", "__version__"]


def __getattr__(name: str) -> Any:
    if name in {"Client", "AsyncClient"}:
        from nxdocs import sdk  # noqa: PLC0415 (deferred: see the module's docstring)

        return getattr(sdk, name)
    raise AttributeError(f"module 'nxdocs' has no attribute {name!r}")
