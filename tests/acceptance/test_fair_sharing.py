"""Fair sharing, end to end on the real `nxdocs serve`, on SQLite and PostgreSQL.

Alice submits 200 heavy artifacts (long decks, about half a second of parsing
each), then Bob one small deck. The serving process's worker process (four
slots) keeps one slot from Alice's backlog, so Bob's job runs at once instead
of after hers; and since the parsing happens in the worker process, the API
keeps taking requests and answering `/health` quickly meanwhile.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from nxdocs.settings import Settings
from nxdocs.system import build_system
from tests.support.process import child_env, nxdocs_serve
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

HEAVY_JOBS = 200
BOB_DEADLINE_SECONDS = 10.0
"""Bob's job finishes this soon after it is made; Alice's backlog takes minutes of slot time."""
HEALTH_DEADLINE_SECONDS = 1.0


def heavy_deck(slides: int = 190) -> str:
    slide = "\n".join(f"- point {k} of **slide** with `code` and *emphasis*" for k in range(8))
    table = "| a | b | c |\n|---|---|---|\n| 1 | 2 | 3 |\n| 4 | 5 | 6 |"
    body = "\n\n---\n\n".join(f"## Slide {n}\n\n{slide}\n\n{table}" for n in range(1, slides))
    return f"# Heavy deck\n\n---\n\n{body}"


def keys_of_new_owners(settings: Settings, count: int) -> list[dict[str, str]]:
    system = build_system(settings)
    try:
        secrets = [system.keys.create("fair", new_owner=True).secret for _ in range(count)]
    finally:
        system.close()
    return [{"Authorization": f"Bearer {secret}"} for secret in secrets]


def test_a_small_job_is_not_held_up_by_another_owners_backlog(
    database_url: str, tmp_path: Path
) -> None:
    settings = {"database_url": database_url, "data_dir": str(tmp_path / "data")}
    alice, bob = keys_of_new_owners(Settings(**settings), 2)
    env = child_env(**settings, worker_concurrency="4", shutdown_grace_seconds="1")
    with (
        nxdocs_serve(tmp_path, env) as served,
        httpx.Client(base_url=served.base_url, timeout=30) as client,
    ):
        deck = {"content": heavy_deck()}
        slowest_create = 0.0
        for _ in range(HEAVY_JOBS):
            started = time.monotonic()
            assert client.post("/v1/artifacts/async", json=deck, headers=alice).status_code == 202
            slowest_create = max(slowest_create, time.monotonic() - started)

        made = time.monotonic()
        small = client.post(
            "/v1/artifacts/async", json={"content": "# Bob's\n\n---\n\n## One slide"}, headers=bob
        ).json()
        slowest_health = 0.0

        def bob_finished() -> dict[str, object] | None:
            nonlocal slowest_health
            started = time.monotonic()
            assert client.get("/health").status_code == 200
            slowest_health = max(slowest_health, time.monotonic() - started)
            job: dict[str, object] = client.get(f"/v1/jobs/{small['job_id']}", headers=bob).json()
            return job if job["status"] != "processing" else None

        job = wait_until(bob_finished, timeout=120, interval=0.1)
        took = time.monotonic() - made
        backlog = client.get("/v1/artifacts?limit=20", headers=alice).json()["data"]

    assert job["status"] == "completed", job
    assert took < BOB_DEADLINE_SECONDS, f"Bob's job took {took:.1f}s"
    assert slowest_health < HEALTH_DEADLINE_SECONDS, f"/health took {slowest_health:.2f}s"
    assert slowest_create < HEALTH_DEADLINE_SECONDS, f"a create took {slowest_create:.2f}s"
    assert any(a["status"] == "generating" for a in backlog), "Alice's backlog was still there"
