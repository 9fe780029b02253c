"""`GET /v1/jobs`: the caller's jobs, newest first, filtered and paged, on both databases.

No worker runs unless a test starts one, so every job stays as the test left it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from nxdocs.clock import format_timestamp
from nxdocs.db.schema import jobs
from nxdocs.ids import new_id
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.clock import ManualClock

CONTENT = {"type": "presentation", "content": "# One\n\nA page."}


@pytest.fixture
def served(make_api: MakeApi, clock: ManualClock) -> ServedApi:
    return make_api(clock=clock, embedded_worker=False)


@pytest.fixture
def alice(served: ServedApi) -> Caller:
    return served.caller("alice")


def create(caller: Caller, clock: ManualClock, count: int, *, step_ms: int = 1000) -> list[str]:
    """`count` artifacts' job ids, oldest first, `step_ms` apart."""
    made = []
    for _ in range(count):
        made.append(caller.create(CONTENT)["job_id"])
        clock.advance(step_ms / 1000)
    return made


def walk(caller: Caller, query: str = "", limit: int = 2) -> Iterator[dict[str, Any]]:
    """Every item of the list, page by page."""
    after = None
    while True:
        cursor = f"&after={after}" if after else ""
        page = caller.ok(f"/v1/jobs?limit={limit}{query}{cursor}")
        assert page["object"] == "list"
        yield from page["data"]
        if not page["has_more"]:
            assert len(page["data"]) <= limit
            return
        after = page["data"][-1]["id"]


def ids(items: Iterator[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def set_state(served: ServedApi, job_id: str, state: str, **values: Any) -> None:
    with served.system.engine.begin() as connection:
        connection.execute(jobs.update().where(jobs.c.id == job_id).values(state=state, **values))


def test_jobs_are_listed_newest_first_as_the_poll_route_shows_them(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    made = create(alice, clock, 5)
    listed = list(walk(alice))
    assert [job["id"] for job in listed] == made[::-1]
    for job in listed:
        assert job == alice.job(job["id"])


def test_another_owners_jobs_are_not_listed(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    bob = served.caller("bob")
    mine = create(alice, clock, 2)
    create(bob, clock, 3)
    assert ids(walk(alice)) == mine[::-1]


def test_status_type_and_time_filters(served: ServedApi, alice: Caller, clock: ManualClock) -> None:
    made = create(alice, clock, 6)
    set_state(served, made[0], "succeeded", result='{"artifact_id": "doc_x"}')
    set_state(served, made[1], "failed", error_code="RENDER_FAILED", error_message="no")
    set_state(served, made[2], "cancelled", error_code="CANCELLED", error_message="by me")
    set_state(served, made[3], "running")
    assert ids(walk(alice, "&status=completed")) == [made[0]]
    assert ids(walk(alice, "&status=failed")) == [made[2], made[1]]
    assert ids(walk(alice, "&status=processing")) == [made[5], made[4], made[3]]
    assert ids(walk(alice, "&type=export.run")) == []
    assert ids(walk(alice, "&type=artifact.create")) == made[::-1]
    created = [alice.job(job_id)["created_at"] for job_id in made]
    between = f"&created_after={created[1]}&created_before={created[4]}"
    assert ids(walk(alice, between)) == [made[3], made[2]]
    assert ids(walk(alice, f"&status=failed{between}")) == [made[2]]
    # Any ISO 8601 time with a zone: an offset names the same instant.
    assert ids(walk(alice, f"&created_after={created[4].replace('Z', '%2B00:00')}")) == [made[5]]


def test_ties_in_created_at_page_by_id(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    made = create(alice, clock, 7, step_ms=0)
    assert ids(walk(alice, limit=3)) == sorted(made, reverse=True)


def test_jobs_created_while_paging_are_neither_repeated_nor_skipped(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    made = create(alice, clock, 6)
    first = alice.ok("/v1/jobs?limit=3")
    create(alice, clock, 4)
    rest = ids(walk_after(alice, first["data"][-1]["id"]))
    assert [job["id"] for job in first["data"]] + rest == made[::-1]


def walk_after(caller: Caller, after: str) -> Iterator[dict[str, Any]]:
    while True:
        page = caller.ok(f"/v1/jobs?limit=2&after={after}")
        yield from page["data"]
        if not page["has_more"]:
            return
        after = page["data"][-1]["id"]


def test_a_cursor_whose_job_was_deleted_still_pages_on(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    made = create(alice, clock, 5)
    with served.system.engine.begin() as connection:
        connection.execute(jobs.delete().where(jobs.c.id == made[2]))
    assert ids(walk_after(alice, made[2])) == [made[1], made[0]]


def test_an_artifact_cursor_whose_artifact_was_deleted_still_pages_on(
    served: ServedApi, alice: Caller, clock: ManualClock
) -> None:
    made = []
    for _ in range(4):
        made.append(alice.create(CONTENT)["id"])
        clock.advance(1)
    assert alice.delete(f"/v1/artifacts/{made[2]}").status_code == 200
    page = alice.ok(f"/v1/artifacts?after={made[2]}")
    assert [item["id"] for item in page["data"]] == [made[1], made[0]]
    assert page["has_more"] is False


def test_a_cursor_made_before_ids_carried_a_time_is_refused_once_gone(alice: Caller) -> None:
    response = alice.get("/v1/jobs?after=job_abc123def456")
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "after"


@pytest.mark.parametrize(
    "query",
    [
        "status=queued",
        "status=",
        "type=artifact",
        "limit=0",
        "limit=101",
        "limit=ten",
        "created_after=yesterday",
        "created_after=2026-01-15T10:30:00",  # no zone: which instant is it?
        "created_before=2026-13-01T00:00:00Z",
        "created_before=" + "9" * 100,
        "after=job_" + "a" * 61,
        "after=JOB_abc",
        "created_after=2026-01-15T10:30:00%00Z",
        "created_after=2026-W03-4T10:30Z",
        "created_after=%D9%A2026-01-15T10:30:00Z",
    ],
)
def test_bad_queries_are_400_validation_errors(alice: Caller, query: str) -> None:
    response = alice.get(f"/v1/jobs?{query}")
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_a_limit_of_100_is_served(served: ServedApi, alice: Caller, clock: ManualClock) -> None:
    owner = alice.owner_id
    now = clock.now_ms()
    rows = [
        {
            "id": new_id("job", now + index),
            "owner_id": owner,
            "type": "export.run",
            "state": "succeeded",
            "payload": "{}",
            "result": '{"export_id": "exp_x"}',
            "attempts": 1,
            "max_attempts": 3,
            "run_at": 0,
            "created_at": now + index,
            "updated_at": now + index,
        }
        for index in range(150)
    ]
    with served.system.engine.begin() as connection:
        connection.execute(jobs.insert(), rows)
    page = alice.ok("/v1/jobs?limit=100&status=completed&type=export.run")
    assert len(page["data"]) == 100
    assert page["has_more"] is True
    assert page["data"][0]["created_at"] == format_timestamp(now + 149)
