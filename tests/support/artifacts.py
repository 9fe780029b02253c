"""Driving the artifact routes of a real server: owners, creates, jobs and table counts.

`ArtifactApi` serves one `System` with the real `artifact.create` handler (not
the scripted engine handlers) on a real uvicorn, and hands out `Caller`s: one
owner's key on one contract-checked client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
import sqlalchemy as sa

from nxdocs.api.app import create_app
from nxdocs.db.engine import read_only
from nxdocs.system import System
from tests.support.contract import check_response
from tests.support.server import serving
from tests.support.waiting import wait_until

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
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
NOT_FOUND = {"error": {"code": "NOT_FOUND", "message": "The requested resource was not found."}}


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


def timestamp_ms(text: str) -> int:
    """A contract timestamp (`2026-01-15T10:30:00.000Z`) as milliseconds since the epoch."""
    assert TIMESTAMP.fullmatch(text), text
    parsed = datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return round(parsed.timestamp() * 1000)


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


@dataclass
class Caller:
    """One owner talking to the API with their own key."""

    http: httpx.Client
    owner_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(
        self, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self.http.post(path, headers={**self.auth, **(headers or {})}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.auth, **kwargs)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers=self.auth)

    def create(self, body: dict[str, Any], *, sync: bool = False) -> dict[str, Any]:
        """Create an artifact; the response body of a 201 (sync) or 202 (async)."""
        response = self.post("/v1/artifacts" if sync else "/v1/artifacts/async", json=body)
        assert response.status_code == (201 if sync else 202), response.text
        created: dict[str, Any] = response.json()
        return created

    def artifact(self, artifact_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/artifacts/{artifact_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def job(self, job_id: str) -> dict[str, Any]:
        response = self.get(f"/v1/jobs/{job_id}")
        assert response.status_code == 200, response.text
        found: dict[str, Any] = response.json()
        return found

    def finished_job(self, job_id: str, timeout: float = 30.0) -> dict[str, Any]:
        """The job once it is no longer processing."""

        def finished() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] != "processing" else None

        job = wait_until(finished, timeout=timeout)
        assert job is not None
        return job

    def generated(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create asynchronously, wait for the job, and return the artifact as it ended."""
        created = self.create(body)
        self.finished_job(created["job_id"])
        return self.artifact(created["id"])


@dataclass
class ArtifactApi:
    """A served `System` and its contract-checked client."""

    system: System
    base_url: str
    http: httpx.Client

    def caller(self, name: str = "test", *, new_owner: bool = True) -> Caller:
        """A key for a brand-new owner (or the default owner with `new_owner=False`)."""
        created = self.system.keys.create(name, new_owner=new_owner)
        return Caller(self.http, created.owner_id, created.secret)

    def count(self, table: sa.Table) -> int:
        with read_only(self.system.engine).connect() as connection:
            count = connection.execute(sa.select(sa.func.count()).select_from(table))
            return int(count.scalar_one())

    def rows(self, table: sa.Table) -> list[dict[str, Any]]:
        with read_only(self.system.engine).connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.select(table))]


@contextmanager
def artifact_api(system: System, *, embedded_worker: bool = True) -> Iterator[ArtifactApi]:
    """Serve `system` on a real uvicorn; every response goes through the contract hook."""
    app = create_app(system, embedded_worker=embedded_worker)
    with (
        serving(app) as base_url,
        httpx.Client(
            base_url=base_url, event_hooks={"response": [check_response]}, timeout=30
        ) as http,
    ):
        yield ArtifactApi(system, base_url, http)
