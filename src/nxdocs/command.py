"""The `nxdocs` executable: the client commands start without loading the server.

`nxdocs jobs|artifacts|export` only call a server over HTTP (`nxdocs.cli_client`,
on the SDK), but `nxdocs.cli` imports the whole server to define `serve` and the
rest: FastAPI, SQLAlchemy, WeasyPrint, about two seconds before the first
request. So the executable looks at its first argument, and builds the client
commands alone when it names one of them. Everything else, `--help` included,
gets the full command, which lists the client commands too.
"""

from __future__ import annotations

import sys

CLIENT_COMMANDS = frozenset({"jobs", "artifacts", "export"})


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in CLIENT_COMMANDS:
        import typer  # noqa: PLC0415 (the point: only what the client needs)

        from nxdocs.cli_client import register  # noqa: PLC0415

        client = typer.Typer(no_args_is_help=True)
        register(client)
        client(prog_name="nxdocs")
        return
    from nxdocs.cli import main as everything  # noqa: PLC0415

    everything()
