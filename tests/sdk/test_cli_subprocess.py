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
