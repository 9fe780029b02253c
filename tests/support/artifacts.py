"""The artifact object as the API shows it, and as a language model answers it.

`assert_hosted_artifact` checks every hosted field of a response body;
`llm_document` is a valid answer for the scripted chat server to give.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from nxdocs.artifacts.store import NewArtifact
from nxdocs.system import System
from tests.support.contract import timestamp_ms

HOSTED_FIELDS = (
    "id",
    "object",
    "name",
    "type",
    "status",
    "page_count",
    "brand_id",
    "theme_id",
    "created_at",
    "updated_at",
)


def llm_document(pages: int, title: str = "Tides") -> dict[str, Any]:
    """A valid presentation as a language model would answer it: `pages` pages."""
    return {
        "type": "presentation",
        "title": title,
        "pages": [
            {
                "blocks": [
                    {"type": "heading", "text": f"{title} {n}"},
                    {"type": "list", "items": [{"spans": [{"text": "High and low"}]}]},
                ],
                "notes": f"Talk about part {n}.",
            }
            for n in range(1, pages + 1)
        ],
    }


def assert_hosted_artifact(body: dict[str, Any], status: str) -> None:
    """Every field of the hosted artifact object, hosted ones first, timestamps in ms UTC."""
    assert list(body)[: len(HOSTED_FIELDS)] == list(HOSTED_FIELDS), list(body)
    assert body["object"] == "artifact"
    assert re.fullmatch(r"doc_[a-z0-9]+", body["id"]), body["id"]
    assert body["status"] == status, body
    assert body["type"] in ("presentation", "document")
    assert isinstance(body["name"], str)
    assert body["name"]
    now = datetime.now(tz=UTC).timestamp() * 1000
    created, updated = timestamp_ms(body["created_at"]), timestamp_ms(body["updated_at"])
    assert now - 120_000 < created <= updated < now + 5_000, body
    if status == "ready":
        assert isinstance(body["page_count"], int)
        assert body["page_count"] >= 1
        assert body["error"] is None
    if status == "generating":
        assert body["page_count"] is None
        assert body["error"] is None


def stored_artifact(system: System, owner: str, name: str, content: str) -> str:
    """An artifact made from Markdown straight through the store (its job queued); its id."""
    created = system.artifacts.create(
        NewArtifact(
            owner_id=owner,
            name=name,
            type="presentation",
            prompt=None,
            content=content,
            page_count=None,
            brand_id=None,
            theme_id=None,
            ai_instruction=None,
            named_by_client=True,
        )
    )
    return created.id
