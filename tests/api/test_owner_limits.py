"""One owner's queued and running jobs are capped: 429 beyond, nothing written."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from nxdocs.api.app import create_app
from nxdocs.system import System
from tests.support.server import checked_client

DECK = {"content": "# A deck\n\n---\n\n## A slide"}


def test_an_owner_past_the_active_job_cap_gets_429_and_others_do_not(
    api_system: System, auth: dict[str, str]
) -> None:
    api_system.store.max_active_per_owner = 2
    other = {"Authorization": f"Bearer {api_system.keys.create('other', new_owner=True).secret}"}
    # No worker: the jobs stay queued, so the count cannot change under the test.
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        for _ in range(2):
            assert client.post("/v1/artifacts/async", json=DECK, headers=auth).status_code == 202
        for path in ("/v1/artifacts/async", "/v1/artifacts"):
            refused = client.post(path, json=DECK, headers=auth)
            assert refused.status_code == 429, refused.text
            assert refused.json()["error"]["code"] == "RATE_LIMITED"
            assert "2 jobs" in refused.json()["error"]["message"]
            assert int(refused.headers["Retry-After"]) >= 1
        listed = client.get("/v1/artifacts", headers=auth).json()["data"]
        assert len(listed) == 2, "the refused creates wrote no artifact"
        assert client.post("/v1/artifacts/async", json=DECK, headers=other).status_code == 202


def test_concurrent_creates_of_one_owner_are_counted_in_turn(
    api_system: System, auth: dict[str, str]
) -> None:
    """The count locks the owner's row without deadlocking against the artifact
    row that references it (PostgreSQL); the cap holds exactly."""
    api_system.store.max_active_per_owner = 12
    with (
        checked_client(create_app(api_system, embedded_worker=False)) as client,
        ThreadPoolExecutor(8) as pool,
    ):
        codes = list(
            pool.map(
                lambda _: client.post("/v1/artifacts/async", json=DECK, headers=auth).status_code,
                range(16),
            )
        )
    assert sorted(codes) == [202] * 12 + [429] * 4
