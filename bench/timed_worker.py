"""A worker process for the waiting benchmark: `nxdocs worker` that notes when each
job's completion has committed.

    BENCH_COMPLETIONS=/path/file python -m bench.timed_worker   (settings from NXDOCS_*)

The same code path as `nxdocs worker` (`build_system`, the real handlers,
`run_worker_until_signalled`), with one addition around `JobStore.complete`:
it appends `<job id> <time.time() at the call> <time.time() on return>` to the
file named by `BENCH_COMPLETIONS`. On return the job's succeeded state is
committed and announced (the notification rides on the commit). That clock is
the one the waiting client reads (same machine, realtime clock), so the
benchmark measures from the commit itself rather than from the job's
`updated_at`, which `complete` stamps before its hook, the notification and
the commit, truncated to the millisecond.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from nxdocs.cli import run_worker_until_signalled
from nxdocs.jobs.model import ClaimedJob
from nxdocs.logs import configure_logging
from nxdocs.settings import Settings
from nxdocs.system import build_system

COMPLETIONS_VARIABLE = "BENCH_COMPLETIONS"


def main() -> None:
    settings = Settings()
    configure_logging(settings.log_level)
    system = build_system(settings)
    sink = open(os.environ[COMPLETIONS_VARIABLE], "a", buffering=1)  # noqa: SIM115 (process-long)
    lock = threading.Lock()
    complete = system.store.complete

    def timed_complete(job: ClaimedJob, worker_id: str, result: dict[str, Any]) -> bool:
        called = time.time()
        done = complete(job, worker_id, result)
        committed = time.time()
        if done:
            with lock:
                sink.write(f"{job.id} {called:.6f} {committed:.6f}\n")
        return done

    system.store.complete = timed_complete  # type: ignore[method-assign]
    try:
        run_worker_until_signalled(system)
    finally:
        system.close()
        sink.close()


if __name__ == "__main__":
    main()
