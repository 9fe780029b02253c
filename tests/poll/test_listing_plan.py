"""The job list reads an index in order and stops after a page, on both databases.

The table holds many jobs of one owner (and a few of another), mostly finished:
the listing's statements must not scan them, nor sort them. What the planner
chooses is asked of the real database (EXPLAIN), after ANALYZE, so the
statistics are those of a big table rather than an empty one.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from nxdocs.db.schema import jobs
from nxdocs.ids import new_id
from nxdocs.poll.listing import JobFilter, JobLister
from nxdocs.system import System

JOBS = 20_000
PAGE = 21
FILTERS = {
    "none": JobFilter(),
    "failed": JobFilter(status="failed"),
    "processing": JobFilter(status="processing"),
    "type": JobFilter(type="export.run"),
    "failed exports of a day": JobFilter(
        status="failed", type="export.run", created_after=1_000, created_before=900_000_000
    ),
}


@pytest.fixture
def owner(system: System) -> str:
    owner_id = system.keys.create("many").owner_id
    other = system.keys.create("few", new_owner=True).owner_id
    states = ["succeeded"] * 17 + ["failed", "cancelled", "queued"]
    rows = [
        {
            "id": new_id("job", 1_000 + index),
            "owner_id": owner_id if index % 50 else other,
            "type": "artifact.create" if index % 3 else "export.run",
            "state": states[index % len(states)],
            "payload": "{}",
            "attempts": 1,
            "max_attempts": 3,
            "run_at": 0,
            "created_at": 1_000 + index,
            "updated_at": 1_000 + index,
        }
        for index in range(JOBS)
    ]
    with system.engine.begin() as connection:
        connection.execute(jobs.insert(), rows)
        connection.execute(sa.text("ANALYZE jobs"))
    return owner_id


def plan(system: System, query: tuple[sa.Select[tuple[object, ...]], dict[str, object]]) -> str:
    statement, values = query
    bound = statement.params(values)
    compiled = str(bound.compile(system.engine, compile_kwargs={"literal_binds": True}))
    with system.engine.connect() as connection:
        if system.database.sqlite_path is not None:
            rows = connection.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")).all()
            return "\n".join(str(row[-1]) for row in rows)
        (document,) = connection.execute(sa.text(f"EXPLAIN (FORMAT JSON) {compiled}")).one()
    return json.dumps(document if not isinstance(document, str) else json.loads(document))


def test_no_scan_and_no_sort_of_the_owners_jobs(system: System, owner: str) -> None:
    middle = 1_000 + JOBS // 2
    for name, found in FILTERS.items():
        for position in (None, (middle, new_id("job", middle))):
            shown = plan(system, JobLister.query(owner, found, PAGE, position))
            merged = found.status is not None or found.type is not None
            where = f"{name}, {'a later' if position else 'the first'} page:\n{shown}"
            if found.type is not None:
                assert "ix_jobs_owner_type_state_created" in shown, where
            if system.database.sqlite_path is not None:
                assert "SCAN jobs\n" not in shown + "\n", where
                assert "USING INDEX ix_jobs_owner" in shown, where
                # A later page enters the index at its cursor, not at the newest job.
                if position is not None:
                    assert "created_at<" in shown, where
                # A sort may merge the page-sized ranges of a filter, never the table.
                if merged is False:
                    assert "TEMP B-TREE" not in shown, where
            else:
                assert '"Seq Scan"' not in shown, where
                assert "ix_jobs_owner" in shown, where
                conditions = [node.get("Index Cond", "") for node in _plan_nodes(json.loads(shown))]
                if position is not None:
                    assert any("created_at <=" in cond for cond in conditions), where
                if merged is False:
                    assert '"Sort"' not in shown, where
    rows, has_more = JobLister(system.engine).page(owner, JobFilter(), limit=3, after=None)
    assert has_more
    assert [row.created_at for row in rows] == [1_000 + JOBS - n for n in (1, 2, 3)]


def _plan_nodes(plan: object) -> list[dict[str, str]]:
    """Every node of a PostgreSQL JSON plan."""
    found: list[dict[str, str]] = []
    if isinstance(plan, list):
        for item in plan:
            found += _plan_nodes(item)
    elif isinstance(plan, dict):
        found.append(plan)
        for value in plan.values():
            if isinstance(value, list | dict):
                found += _plan_nodes(value)
    return found
