"""What `nxdocs serve` and `nxdocs worker` set up before anything else: logging in
the chosen format, and metrics shared by the nxdocs processes of one machine.

Jobs run in worker processes (the one `nxdocs serve` starts, and any `nxdocs
worker`), so their counters live there, not in the process that answers
`/metrics`. So that one scrape of a server sees the counts of its machine's
workers, every nxdocs process started by the CLI keeps its counters,
histograms and gauges in prometheus-client's multiprocess mode: one
memory-mapped file per process and kind of metric, in a shared directory,
which `/metrics` reads and sums (`MultiProcessCollector`).

The directory is `PROMETHEUS_MULTIPROC_DIR` if that is set (prometheus-client's
own variable), else `<data-dir>/metrics/<hostname>`; either way the variable is set for
the worker process `nxdocs serve` starts. Processes that share the directory
must see each other's process ids (one machine or container). `nxdocs serve`
removes the files of processes no longer running when it starts, so a
restart starts counting afresh; while it runs, the counts of workers that
have exited stay, so counters never go back. Their live gauges are dropped
at the next scrape (`forget_exited_processes`).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from prometheus_client import values
from prometheus_client.multiprocess import mark_process_dead

from nxdocs.api.request_context import http_metrics
from nxdocs.jobs.metrics import worker_metrics
from nxdocs.settings import Settings

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
METRICS_FOLDER = "metrics"
"""The folder of the data directory that holds the metrics' files by default."""


def share_node_metrics(settings: Settings, *, serving: bool) -> None:
    """Metrics shared with this machine's other nxdocs processes; `serving` for
    `nxdocs serve`, which also clears the files that processes of an earlier run
    left. Before the process makes a worker or an app (they make the metrics)."""
    # One folder per host: replicas may share a data directory (a network volume),
    # but not process ids (each container's first process is 1).
    share_metrics(settings.data_dir / METRICS_FOLDER / socket.gethostname(), clear=serving)


def share_metrics(default_directory: Path, *, clear: bool) -> Path:
    """Keep this process's metrics in the shared directory; the directory.

    Must come before any metric of nxdocs is made: prometheus-client decides
    where a metric keeps its values when the metric is made, by the value
    class it chose when it was imported, which was before the settings were
    known. The class is switched here to the one it would have chosen with
    the variable set.
    """
    if worker_metrics.cache_info().currsize or http_metrics.cache_info().currsize:
        raise RuntimeError("metrics already made in this process; share them before")
    directory = Path(os.environ.get(MULTIPROCESS_VARIABLE) or default_directory).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    if clear:
        _remove_files_of_ended_processes(directory)
    os.environ[MULTIPROCESS_VARIABLE] = str(directory)
    values.ValueClass = values.MultiProcessValue()  # type: ignore[no-untyped-call]
    return directory


def shared_directory() -> Path | None:
    """Where this process's metrics are shared, or None when they live in its memory only."""
    found = os.environ.get(MULTIPROCESS_VARIABLE)
    return Path(found) if found else None


def forget_exited_processes(directory: Path) -> None:
    """Drop the live gauges of processes that have exited, however they ended
    (a killed worker never says so itself); their counters stay."""
    for path in directory.glob("gauge_live*.db"):
        pid = _pid_of(path)
        if pid is not None and not _running(pid):
            mark_process_dead(pid, str(directory))  # type: ignore[no-untyped-call]


def _remove_files_of_ended_processes(directory: Path) -> None:
    # This process has made no metric yet, so files under its own id are an
    # earlier process's that had the same id (pid 1 in a container, each start).
    for path in directory.glob("*_*.db"):
        if not path.name.startswith(_PROMETHEUS_FILES):
            continue  # not prometheus-client's: someone else's file, left alone
        pid = _pid_of(path)
        if pid is not None and (pid == os.getpid() or not _running(pid)):
            path.unlink(missing_ok=True)


_PROMETHEUS_FILES = ("counter_", "gauge_", "histogram_", "summary_")


def _pid_of(path: Path) -> int | None:
    """The process id in a file name such as `counter_123.db`, `gauge_livesum_123.db`."""
    tail = path.stem.rpartition("_")[2]
    return int(tail) if tail.isdigit() else None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True
