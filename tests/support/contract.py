"""Checks of responses against the JSON Schemas written from the contract page.

`check_response` is installed as an httpx response hook on every client the
suite uses, so each job response and each error body is validated, whatever
the test itself asserts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import jsonschema

_DIR = Path(__file__).resolve().parent.parent / "contract"
JOB_SCHEMA = json.loads((_DIR / "job.schema.json").read_text())
ERROR_SCHEMA = json.loads((_DIR / "error.schema.json").read_text())
_JOB_PATH = re.compile(r"^/v1/jobs/[^/]+$")


def validate_job(body: Any) -> None:
    jsonschema.validate(body, JOB_SCHEMA)


def validate_error(body: Any) -> None:
    jsonschema.validate(body, ERROR_SCHEMA)


def check_response(response: httpx.Response) -> None:
    if response.request.method == "HEAD":
        return
    response.read()
    if response.status_code >= 400:
        validate_error(response.json())
    elif _JOB_PATH.match(response.request.url.path) and response.request.method == "GET":
        validate_job(response.json())
