"""Acceptance: several nodes on one new PostgreSQL database migrate it once.

Each test has a database of its own, created empty (`fresh_database`), and
runs the real `nxdocs` command. The nodes race for real: the test holds the
migration's advisory lock while they start, so every one of them has read
the empty schema and waits on the lock before the first may migrate.
"""

from __future__ import annotations

import signal
import subprocess
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from nxdocs.db.backend import Database
from nxdocs.db.engine import create_engine
from nxdocs.db.migrate import MIGRATION_LOCK, schema_status, upgrade
from nxdocs.db.schema import metadata
from tests.support.process import NXDOCS, child_env, nxdocs
from tests.support.waiting import wait_until
from tests.support.worker_processes import NXDOCS_WORKER, WorkerProcesses

pytestmark = pytest.mark.slow

NODES = 4


def waiting_for_the_lock(admin: psycopg.Connection[tuple[object, ...]]) -> int:
    row = admin.execute(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    ).fetchone()
    assert row is not None
    return int(str(row[0]))


def test_nodes_started_together_migrate_once(fresh_database: str, tmp_path: Path) -> None:
    env = child_env(
        database_url=fresh_database.replace("postgresql://", "postgres://", 1),
        data_dir=str(tmp_path),
    )
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        with psycopg.connect(fresh_database, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (MIGRATION_LOCK,))
            nodes.extend(
                subprocess.Popen(
                    [NXDOCS, "db", "upgrade"],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                )
                for _ in range(NODES)
            )
            try:

                def all_waiting() -> bool:
                    exited = [node.returncode for node in nodes if node.poll() is not None]
                    assert not exited, f"a node exited before the lock was free: {exited}"
                    return waiting_for_the_lock(holder) == NODES

                # Generous: four interpreters starting at once on a loaded machine.
                wait_until(all_waiting, timeout=180, interval=0.05)
            finally:
                holder.execute("SELECT pg_advisory_unlock(%s)", (MIGRATION_LOCK,))
    finally:
        # Every node's output is read and its pipe closed, whatever happened above.
        outputs = [_finished_output(node) for node in nodes]
    for node, output in zip(nodes, outputs, strict=True):
        assert node.returncode == 0, output
        assert "database is up to date" in output
        assert "Traceback" not in output
    assert sum("Running upgrade" in output for output in outputs) == 1, outputs
    assert_migrated_once(fresh_database)


def _finished_output(node: subprocess.Popen[bytes]) -> str:
    try:
        return node.communicate(timeout=120)[0].decode()
    except subprocess.TimeoutExpired:
        node.kill()
        return node.communicate()[0].decode()


def assert_migrated_once(url: str) -> None:
    engine = create_engine(Database.from_url(url))
    try:
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert [row.version_num for row in versions] == list(schema_status(engine).heads)
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, metadata) == []
    finally:
        engine.dispose()


def test_no_migrate_refuses_a_new_database_in_one_line(fresh_database: str, tmp_path: Path) -> None:
    env = child_env(database_url=fresh_database, data_dir=str(tmp_path))
    for command in (("worker", "--no-migrate"), ("serve", "--no-worker", "--no-migrate")):
        refused = nxdocs(*command, env=env)
        assert refused.returncode == 1, refused.stdout + refused.stderr
        lines = refused.stdout.strip().splitlines()
        assert lines[-1] == (
            "The database has no nxdocs schema yet: run `nxdocs db upgrade` first."
        ), refused.stdout
        assert "Traceback" not in refused.stdout + refused.stderr
    with psycopg.connect(fresh_database) as connection:
        tables = connection.execute(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        ).fetchone()
    assert tables == (0,)


def test_no_migrate_starts_on_a_migrated_database(fresh_database: str, tmp_path: Path) -> None:
    engine = create_engine(Database.from_url(fresh_database))
    try:
        upgrade(engine, "0005")
        behind = nxdocs("worker", "--no-migrate", env=child_env(database_url=fresh_database))
        assert behind.returncode == 1
        assert "at revision 0005" in behind.stdout
        assert "run `nxdocs db upgrade` first" in behind.stdout
        upgraded = nxdocs("db", "upgrade", env=child_env(database_url=fresh_database))
        assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
        assert "Running upgrade 0005 -> 0006" in upgraded.stdout + upgraded.stderr
    finally:
        engine.dispose()
    workers = WorkerProcesses(tmp_path, fresh_database, tmp_path / "data", command=NXDOCS_WORKER)
    try:
        started = workers.start((*NXDOCS_WORKER, "--no-migrate"))
        workers.wait_started(started)
        assert workers.signal_and_wait(started, signal.SIGTERM) == 0
        workers.assert_no_traceback()
        assert "Running upgrade" not in started.text()
    finally:
        workers.close()


def test_an_older_node_starts_on_a_newer_schema(fresh_database: str, tmp_path: Path) -> None:
    # A newer nxdocs migrated during a rolling upgrade; this one still starts.
    engine = create_engine(Database.from_url(fresh_database))
    try:
        upgrade(engine)
        with engine.begin() as connection:
            connection.execute(sa.text("UPDATE alembic_version SET version_num = '9001'"))
    finally:
        engine.dispose()
    upgraded = nxdocs("db", "upgrade", env=child_env(database_url=fresh_database))
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    assert "newer than this nxdocs: left as it is" in upgraded.stdout
    workers = WorkerProcesses(tmp_path, fresh_database, tmp_path / "data", command=NXDOCS_WORKER)
    try:
        migrating = workers.start()
        checking = workers.start((*NXDOCS_WORKER, "--no-migrate"))
        workers.wait_started(migrating, checking)
        workers.stop_all()
        workers.assert_no_traceback()
        for worker in (migrating, checking):
            assert "at revision 9001, newer than this nxdocs knows" in worker.text()
    finally:
        workers.close()
