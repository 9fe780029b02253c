"""`nxdocs jobs|artifacts|export`: the command-line client of any nxdocs server, on the SDK."""

from __future__ import annotations

from nxdocs.cli_client.commands import register

__all__ = ["register"]
