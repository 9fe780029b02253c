"""What the contract page fixes: the JSON Schemas, the timestamp format, the 404 body.

`check_response` is installed as an httpx response hook on every client the
suite uses, so each job (polled, listed or cancelled) and each error body is
validated, whatever the test itself asserts.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import jsonschema

_DIR = Path(__file__).resolve().parent.parent / "contract"
JOB_SCHEMA = json.loads((_DIR / "job.schema.json").read_text())
ERROR_SCHEMA = json.loads((_DIR / "error.schema.json").read_text())
_JOB_PATH = re.compile(r"^/v1/jobs/[^/]+$")
_CANCEL_PATH = re.compile(r"^/v1/jobs/[^/]+/cancel$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
"""A contract timestamp: `2026-01-15T10:30:00.000Z`, milliseconds, UTC."""
NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "The requested resource was not found."}}
"""The documented body of every 404: an unknown id and another owner's look the same."""
FASTAPI_422_SCHEMA = {
    "type": "object",
    "required": ["detail"],
    "additionalProperties": False,
    "properties": {
        "detail": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["loc", "msg", "type"],
                "properties": {
                    "loc": {"type": "array", "items": {"type": ["string", "integer"]}},
                    "msg": {"type": "string", "minLength": 1},
                    "type": {"type": "string", "minLength": 1},
                },
            },
        }
    },
}
"""The legacy /v0 routes' validation error: FastAPI's own 422, which v0 clients read."""


def timestamp_ms(text: str) -> int:
    """A contract timestamp as milliseconds since the epoch; fails the test if malformed."""
    assert TIMESTAMP.fullmatch(text), text
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


def validate_job(body: Any) -> None:
    jsonschema.validate(body, JOB_SCHEMA)


def validate_error(body: Any) -> None:
    jsonschema.validate(body, ERROR_SCHEMA)


def check_response(response: httpx.Response) -> None:
    if response.request.method == "HEAD":
        return
    response.read()
    if response.status_code == 422 and response.request.url.path.startswith("/v0/"):
        jsonschema.validate(response.json(), FASTAPI_422_SCHEMA)
        return
    if response.status_code >= 400:
        validate_error(response.json())
        return
    path, method = response.request.url.path, response.request.method
    if (method == "GET" and _JOB_PATH.match(path)) or (
        method == "POST" and _CANCEL_PATH.match(path)
    ):
        validate_job(response.json())
    elif method == "GET" and path == "/v1/jobs":
        # Every item of the job list is the contract's job object.
        for job in response.json()["data"]:
            validate_job(job)
