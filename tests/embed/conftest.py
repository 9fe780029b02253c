"""Embed tests: the real `artifact.create` handler behind a real server, on both databases.

The served API, `make_api`, `alice` and `bob` are the suite-wide ones of
`tests/conftest.py`; artifacts come from Markdown, so they are ready in moments.
`DECK` has what the viewer must handle with care: an external image it must not
fetch, a `data:` image it must draw, and speaker notes it must not show.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import pytest
from PIL import Image

from nxdocs.settings import Settings
from tests.support.api import Caller


def _dot_png() -> str:
    image = Image.new("RGB", (4, 4), (200, 30, 30))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode("ascii")


EXTERNAL_IMAGE = "https://example.com/a.png"
SPEAKER_NOTES = "Only the presenter reads this"
DECK = (
    "# Launch plan\n\nFrom idea to orbit\n\n---\n\n"
    f"## Goals\n\n- ship\n- learn\n\n![x]({EXTERNAL_IMAGE})\n\nNotes: {SPEAKER_NOTES}\n\n---\n\n"
    f"## Team\n\n![dot](data:image/png;base64,{_dot_png()})\n\n| who | what |\n|---|---|\n"
    "| Ada | code |\n"
)
DECK_PAGES = 3


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """Quicker than the exports' defaults: Markdown generates in moments."""
    return api_settings.model_copy(update={"shutdown_grace_seconds": 1, "sync_wait_seconds": 30})


def ready_deck(caller: Caller, name: str = "Launch plan") -> dict[str, Any]:
    """`DECK` as a ready artifact of `caller`'s."""
    return caller.ready_artifact({"content": DECK, "name": name})


def embed_of(caller: Caller, artifact_id: str) -> dict[str, Any]:
    """`GET /v1/embed/{id}`, which must answer 200; the body."""
    return caller.ok(f"/v1/embed/{artifact_id}")
