"""The layers of `src/nxdocs`, read from every module's imports: they point down only.

The rules are written once, here, and in the README's architecture section.
Each top-level package or module has a rank; a module may import its own
package and anything ranked lower, and nothing ranked the same or higher but
for the pairs in ALSO_ALLOWED. FORBIDDEN names what must stay out even
though the ranks would admit it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "nxdocs"

RANKS = {
    "__main__": 12,  # `python -m nxdocs`
    "command": 11,  # the `nxdocs` executable: client commands without the server
    "cli": 10,  # commands; builds a System and runs it
    "cli_options": 9,  # the CLI's flags, generated from Settings
    "cli_client": 9,  # `nxdocs jobs|artifacts|export`: the client commands, on the SDK
    "preflight": 2,  # start-up checks: data directory, database, port
    "api": 8,  # HTTP: routes, middleware, error mapping, OpenAPI
    "dashboard": 7,  # the web dashboard's pages, mounted by api
    "system": 6,  # the composition root
    "artifacts": 5,  # the resources and their job handlers
    "exports": 5,
    "brands": 5,
    "assets": 5,  # uploaded images: rows, files, the checks an upload passes
    "embed": 5,  # signed viewer links and the viewer page (storage's signer, render's HTML)
    "webhooks": 5,  # endpoints, the deliveries queued with a job's end, their sender
    "poll": 4,  # the API's reads of jobs: body, cache, readers, waiter, listing
    "render": 3,  # page model in, files out
    "generate": 3,  # requests in, page model out
    "jobs": 2,  # the engine
    "auth": 2,  # keys and owners
    "idempotency": 2,  # Idempotency-Key rows: claim, record, replay
    "storage": 2,  # blob stores, link signing
    "db": 1,  # schema, engines, migrations
    "pages": 1,  # the page model
    "settings": 2,  # configuration; reads db.backend to check the database URL
    "clock": 1,
    "ids": 0,  # imports nothing of nxdocs; every layer names things by id
    "sdk": 0,  # the Python client of the HTTP API: imports nothing of the server
    "logs": 1,
    "net": 1,  # outbound connections pinned to checked addresses
}
ALSO_ALLOWED = {("exports", "artifacts")}  # an export is of an artifact
FORBIDDEN = {
    (lower, upper)
    for lower in ("pages", "render", "generate", "storage")
    for upper in ("jobs", "db", "api")
}


def imports() -> list[tuple[str, str, str]]:
    """(module path, its top-level package, the top-level package it imports)."""
    found: set[tuple[str, str, str]] = set()
    for path in sorted(SRC.rglob("*.py")):
        relative = path.relative_to(SRC)
        if "migrations" in relative.parts or str(relative) == "__init__.py":
            continue  # migrations stand apart; the package's own __init__ imports nothing
        own = relative.parts[0].removesuffix(".py")
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            for name in names:
                parts = name.split(".")
                if parts[0] == "nxdocs" and len(parts) > 1 and parts[1] != own:
                    found.add((str(relative), own, parts[1]))
    return sorted(found)


def test_every_package_has_a_rank() -> None:
    packages = {path.name.removesuffix(".py") for path in SRC.iterdir()}
    packages -= {"__init__", "__pycache__", "py.typed"}
    assert packages == set(RANKS)


@pytest.mark.parametrize(("module", "own", "imported"), imports())
def test_imports_point_down(module: str, own: str, imported: str) -> None:
    assert (own, imported) not in FORBIDDEN, f"{module} may not import nxdocs.{imported}"
    if (own, imported) in ALSO_ALLOWED:
        return
    assert RANKS[imported] < RANKS[own], (
        f"{module} ({own}, rank {RANKS[own]}) imports nxdocs.{imported} "
        f"(rank {RANKS[imported]}): imports must point down"
    )
