"""GET /v1/jobs/{id} in every state, checked against the contract's schema by the client hook."""

from __future__ import annotations

import httpx

from nxdocs.system import System
from tests.support.contract import NOT_FOUND, TIMESTAMP
from tests.support.jobs import enqueue
from tests.support.waiting import wait_until

CONTRACT_FIELDS = ["id", "object", "type", "status", "result", "error", "created_at", "updated_at"]


def owner_of(system: System, key: str) -> str:
    principal = system.keys.principal_of(key)
    owner = None if principal is None else principal.user_id
    assert owner is not None
    return owner


def poll_until(client: httpx.Client, job_id: str, auth: dict[str, str], status: str) -> dict:
    def reached() -> dict | None:
        body = client.get(f"/v1/jobs/{job_id}", headers=auth).json()
        return body if body["status"] == status else None

    return wait_until(reached)


def test_processing_job_has_retry_after(
    client: httpx.Client, api_system: System, key: str, auth: dict[str, str]
) -> None:
    job_id = enqueue(api_system, owner_of(api_system, key), {"block_attempts": 1})
    response = client.get(f"/v1/jobs/{job_id}", headers=auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["retry-after"] == "1"
    body = response.json()
    assert list(body)[: len(CONTRACT_FIELDS)] == CONTRACT_FIELDS
    assert body["object"] == "job"
    assert (body["id"], body["type"], body["status"]) == (job_id, "artifact.create", "processing")
    assert body["result"] is None
    assert body["error"] is None
    assert TIMESTAMP.fullmatch(body["created_at"])


def test_completed_job_carries_its_result(
    client: httpx.Client, api_system: System, key: str, auth: dict[str, str]
) -> None:
    job_id = enqueue(api_system, owner_of(api_system, key), {"artifact_id": "doc_42", "steps": 2})
    body = poll_until(client, job_id, auth, "completed")
    assert body["result"] == {"artifact_id": "doc_42"}
    assert body["error"] is None
    assert body["progress"] == {"done": 2, "total": 2}
    response = client.get(f"/v1/jobs/{job_id}", headers=auth)
    assert "retry-after" not in response.headers


def test_failed_job_carries_its_error(
    client: httpx.Client, api_system: System, key: str, auth: dict[str, str]
) -> None:
    job_id = enqueue(api_system, owner_of(api_system, key), {"fatal": True}, job_type="export.run")
    body = poll_until(client, job_id, auth, "failed")
    assert body["type"] == "export.run"
    assert body["result"] is None
    assert body["error"] == {
        "code": "GENERATION_FAILED",
        "message": "the input cannot be used",
    }


def test_unknown_job_is_404(client: httpx.Client, auth: dict[str, str]) -> None:
    response = client.get("/v1/jobs/job_abc123def456", headers=auth)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    response = client.get("/v1/jobs/" + "x" * 5000, headers=auth)
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_another_owners_job_is_404(
    client: httpx.Client, api_system: System, key: str, auth: dict[str, str]
) -> None:
    job_id = enqueue(api_system, owner_of(api_system, key))
    stranger = api_system.keys.create("stranger", new_owner=True).secret
    response = client.get(f"/v1/jobs/{job_id}", headers={"Authorization": f"Bearer {stranger}"})
    assert (response.status_code, response.json()) == (404, NOT_FOUND)
    assert client.get(f"/v1/jobs/{job_id}", headers=auth).status_code == 200
