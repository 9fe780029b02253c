"""`nxdocs export` as a user runs it: the installed command, in its own process, against
a served API, leaving a PDF on disk."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pypdf import PdfReader

from nxdocs import Client
from tests.sdk.servers import DECK
from tests.support.api import ServedApi

NXDOCS = Path(sys.executable).parent / "nxdocs"


def test_the_nxdocs_command_exports_a_pdf(served: ServedApi, tmp_path: Path) -> None:
    key = served.caller("shell").key
    with Client(key, base_url=served.base_url) as client:
        artifact = client.artifacts.create(content=DECK)
    env = {**os.environ, "NXDOCS_BASE_URL": served.base_url, "NXDOCS_API_KEY": key}
    done = subprocess.run(
        [str(NXDOCS), "export", artifact.id, "--format", "pdf", "-o", "deck.pdf"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "3/3 pages" in done.stderr
    assert len(PdfReader(tmp_path / "deck.pdf").pages) == 3
    assert key not in done.stdout + done.stderr


SERVER_MODULES = ("fastapi", "sqlalchemy", "weasyprint", "nxdocs.api", "nxdocs.system")
LOADED_BY = """
import sys
sys.argv = ["nxdocs", *sys.argv[1:]]
from nxdocs.command import main
try:
    main()
except SystemExit:
    pass
print([name for name in {modules!r} if name in sys.modules])
"""


def test_client_commands_start_without_the_server_and_help_lists_them_all() -> None:
    def loaded(*args: str) -> str:
        script = LOADED_BY.format(modules=SERVER_MODULES)
        ran = subprocess.run(
            [sys.executable, "-c", script, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return ran.stdout.strip().splitlines()[-1]

    assert loaded("jobs", "--help") == "[]"
    assert loaded("export", "--help") == "[]"
    assert loaded("keys", "--help") != "[]"  # an admin command: the server's code
    listed = subprocess.run(
        [str(NXDOCS), "--help"], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    for command in ("serve", "worker", "jobs", "artifacts", "export"):
        assert command in listed
