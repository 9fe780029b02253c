"""The export object as the API shows it: formats, content types, hosted fields, checks."""

from __future__ import annotations

import re
from typing import Any

from tests.support.contract import timestamp_ms

FORMATS = ("pdf", "pptx", "png", "html")
HOSTED_FIELDS = (
    "id",
    "object",
    "artifact_id",
    "format",
    "status",
    "content",
    "content_type",
    "download_url",
    "expires_at",
    "file_name",
    "pages_exported",
    "error",
    "created_at",
    "updated_at",
)
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "png": "application/zip",
    "html": "text/html; charset=utf-8",
}
EXTENSIONS = {"pdf": "pdf", "pptx": "pptx", "png": "zip", "html": "html"}
DAY_SECONDS = 86_400


def assert_hosted_export(body: dict[str, Any], status: str, *, base_url: str = "") -> None:
    """Every hosted field, hosted ones first and in the reference's order, nullable ones
    present as null; `job_id` is nxdocs's one addition, and `google_slides_presentation_id`
    appears on google-slides exports only."""
    assert list(body)[: len(HOSTED_FIELDS)] == list(HOSTED_FIELDS), list(body)
    extra = {"job_id"} | (
        {"google_slides_presentation_id"} if body["format"] == "google-slides" else set()
    )
    assert set(body) == set(HOSTED_FIELDS) | extra, sorted(body)
    assert body["object"] == "export"
    assert re.fullmatch(r"exp_[a-z0-9]+", body["id"]), body["id"]
    assert re.fullmatch(r"doc_[a-z0-9]+", body["artifact_id"]), body["artifact_id"]
    assert re.fullmatch(r"job_[a-z0-9]+", body["job_id"]), body["job_id"]
    assert body["status"] == status, body
    assert timestamp_ms(body["created_at"]) <= timestamp_ms(body["updated_at"])
    fmt = body["format"]
    if status == "completed":
        assert body["error"] is None
        assert body["content_type"] == CONTENT_TYPES[fmt]
        assert body["download_url"].startswith(f"{base_url}/v1/files/{body['id']}/"), body
        assert timestamp_ms(body["expires_at"]) > timestamp_ms(body["updated_at"])
        assert body["file_name"].endswith(f".{EXTENSIONS[fmt]}"), body["file_name"]
        assert isinstance(body["pages_exported"], int)
        assert body["pages_exported"] >= 1
        assert (body["content"] is not None) == (fmt == "html")
        return
    for field in ("content", "download_url", "expires_at"):
        assert body[field] is None, (field, body)
    if status == "processing":
        for field in ("content_type", "file_name", "pages_exported", "error"):
            assert body[field] is None, (field, body)
    else:
        assert set(body["error"]) == {"code", "message"}, body
        assert re.fullmatch(r"[A-Z][A-Z0-9_]*", body["error"]["code"])
        assert body["error"]["message"]
