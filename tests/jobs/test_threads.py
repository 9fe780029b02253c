"""The worker's daemon threads: reused, bounded, and never in the way of exit."""

from __future__ import annotations

import threading

from nxdocs.jobs.threads import DaemonThreads
from tests.support.waiting import wait_until


def job_threads() -> set[threading.Thread]:
    return {thread for thread in threading.enumerate() if thread.name == "test-threads"}


def test_threads_are_reused_and_bounded() -> None:
    pool = DaemonThreads(2, "test-threads")
    gate = threading.Event()
    ran: list[int] = []
    lock = threading.Lock()

    def task(n: int) -> None:
        gate.wait()
        with lock:
            ran.append(n)

    try:
        for n in range(3):
            pool.submit(lambda n=n: task(n))
        # Two threads, both busy: the third task waits for one of them.
        assert len(job_threads()) == 2
        assert all(thread.daemon for thread in job_threads())
        gate.set()
        wait_until(lambda: len(ran) == 3)
        for n in range(3, 10):
            pool.submit(lambda n=n: task(n))
        wait_until(lambda: len(ran) == 10)
        assert sorted(ran) == list(range(10))
        assert len(job_threads()) == 2
    finally:
        gate.set()
        pool.shutdown()
    wait_until(lambda: not job_threads())
