"""Acceptance: maintenance runs in one worker process at a time, and a killed leader
is replaced; two real worker processes on each database."""

from __future__ import annotations

import signal

import pytest

from tests.support.worker_processes import NXDOCS_WORKER, WorkerProcess, WorkerProcesses

pytestmark = pytest.mark.slow

# Maintenance rounds come every half lease: a short lease makes periods short.
LEASE_SECONDS = 2.0


def rounds(worker: WorkerProcess) -> int:
    """The maintenance rounds this worker ran (logged at debug level)."""
    return worker.text().count("maintenance: lease recovery")


def test_one_worker_leads_maintenance_and_a_killed_leader_is_replaced(
    children: WorkerProcesses,
) -> None:
    # The real command, both started at once on a new database: they also
    # migrate it together (one after the other, by the migration's lock).
    first, second = (
        children.start(NXDOCS_WORKER, lease_seconds=LEASE_SECONDS, log_level="debug")
        for _ in range(2)
    )
    children.wait_started(first, second)
    children.wait_for(lambda: rounds(first) + rounds(second) >= 6, "six maintenance rounds")
    leader, other = (first, second) if rounds(first) else (second, first)
    # Every period so far, on both processes: only the leader ran maintenance.
    assert rounds(other) == 0, children.diagnostics()
    assert "now leads maintenance" in leader.text()
    assert "now leads maintenance" not in other.text()

    assert children.signal_and_wait(leader, signal.SIGKILL) == -signal.SIGKILL
    children.wait_for(lambda: rounds(other) >= 2, "the other worker to take over")
    assert "now leads maintenance" in other.text()
    children.stop_all()
    children.assert_no_traceback()
