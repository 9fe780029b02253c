"""`/readyz` checks that the schema is the one this code needs, reading it at most every
few seconds."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from nxdocs.api.app import create_app
from nxdocs.api.readiness import MigrationsProbe
from nxdocs.db.migrate import schema_status
from nxdocs.system import System
from tests.support.server import checked_client

OLD = "0001"
NEWER = "ffff_from_a_newer_nxdocs"


def set_revision(system: System, revision: str) -> None:
    with system.engine.begin() as connection:
        connection.execute(sa.text("UPDATE alembic_version SET version_num = :r"), {"r": revision})


def test_the_probe_tells_current_behind_and_ahead_apart(api_system: System) -> None:
    [head] = schema_status(api_system.engine).heads
    probe = MigrationsProbe(api_system.engine, max_age_seconds=0)
    assert asyncio.run(probe.check()) == "ok"
    set_revision(api_system, OLD)
    assert asyncio.run(probe.check()) == "behind"
    set_revision(api_system, NEWER)
    assert asyncio.run(probe.check()) == "ahead"
    set_revision(api_system, head)
    assert asyncio.run(probe.check()) == "ok"


def test_an_answer_is_reused_for_a_while(api_system: System) -> None:
    probe = MigrationsProbe(api_system.engine, max_age_seconds=60)
    assert asyncio.run(probe.check()) == "ok"
    set_revision(api_system, OLD)
    assert asyncio.run(probe.check()) == "ok"


def test_a_schema_behind_is_not_ready(api_system: System) -> None:
    set_revision(api_system, OLD)
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"] == {
        "code": "NOT_READY",
        "message": "Not ready: migrations behind.",
        "details": [{"field": "migrations", "message": "behind"}],
    }


def test_a_schema_ahead_is_ready_during_a_rolling_upgrade(api_system: System) -> None:
    set_revision(api_system, NEWER)
    with checked_client(create_app(api_system, embedded_worker=False)) as client:
        response: httpx.Response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "migrations": "ahead",
        "worker": "not running here",
    }
