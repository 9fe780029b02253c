"""A stale attempt never overwrites or deletes the work of the attempt that replaced it.

The real `artifact.create` and `export.run` handlers run in this process, one
attempt at a time, against the real stores and files, on SQLite and
PostgreSQL: attempt 1 is claimed, the job is taken from it (as a reaper on
another node would), attempt 2 runs to completion, and only then does the
stale attempt 1 run. Its writes must be refused.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from nxdocs.artifacts.model import READY
from nxdocs.exports.quota import Quota
from nxdocs.exports.store import ExportFile
from nxdocs.generate import GeneratedArtifact
from nxdocs.jobs.control import JobControl
from nxdocs.jobs.errors import LeaseLostError
from nxdocs.jobs.execute import RunningJob
from nxdocs.storage.blobs import LocalBlobStore
from nxdocs.system import System
from tests.support.artifacts import stored_artifact
from tests.support.attempts import LEASE, TIMEOUT, claim
from tests.support.jobs import set_row

CONTENT = "# Fencing\n\n---\n\n## One\n\n- a\n\n---\n\n## Two\n\n- b"


def take_away(system: System, running: RunningJob) -> None:
    """What a reaper elsewhere does once the lease has expired."""
    set_row(system, running.job.id, state="queued", worker_id=None, lease_expires_at=None)


def run_to_completion(system: System, running: RunningJob) -> None:
    result = system.registry.get(running.job.type).run(running.job, running)
    assert system.store.complete(running.job, running.worker_id, result)


class PausedBeforeItsWrite(RunningJob):
    """An attempt that last heard from the database before the takeover."""

    def report_progress(self, done: int, total: int) -> None:
        pass

    def lease_lost(self) -> bool:
        return False


def new_artifact(system: System, owner: str) -> str:
    return stored_artifact(system, owner, "Fencing", CONTENT)


def test_a_stale_artifact_attempt_cannot_replace_the_pages(real: System) -> None:
    owner = real.keys.create("fence").owner_id
    artifact_id = new_artifact(real, owner)
    stale = claim(real, "w1")
    take_away(real, stale)
    fresh = claim(real, "w2")
    assert fresh.job.attempt == 2
    run_to_completion(real, fresh)
    kept = real.artifacts.document(artifact_id)

    with pytest.raises(LeaseLostError):
        real.registry.get(stale.job.type).run(stale.job, stale)
    assert kept is not None
    other = GeneratedArtifact(kept.model_copy(update={"title": "stale"}), "stale", {"by": "stale"})
    assert not real.artifacts.save_generated(stale.fence, artifact_id, other)

    artifact = real.artifacts.get({owner}, artifact_id)
    assert artifact is not None
    assert (artifact.status, artifact.name) == (READY, "Fencing")
    assert real.artifacts.document(artifact_id) == kept


def test_a_stale_export_attempt_cannot_replace_or_delete_the_file(real: System) -> None:
    owner = real.keys.create("fence").owner_id
    artifact_id = new_artifact(real, owner)
    run_to_completion(real, claim(real, "w0"))
    export = real.exports.create(owner, artifact_id, "html", None, Quota(100, 0))

    stale = claim(real, "w1")
    take_away(real, stale)
    fresh = claim(real, "w2")
    run_to_completion(real, fresh)
    published = real.exports.get(export.id)
    assert published is not None
    assert published.file_key is not None
    assert published.file_key.split("/")[2] == fresh.fence.blob_prefix
    data = real.blobs.read(published.file_key)

    # Told by its first progress write that the job is gone, it stops...
    with pytest.raises(LeaseLostError):
        real.registry.get(stale.job.type).run(stale.job, stale)
    # ...and one paused after its last progress write (SIGSTOP, a long GC) gets
    # as far as its own file, cannot publish it, and takes it away again.
    paused = PausedBeforeItsWrite(stale.job, "w1", real.store, LEASE, TIMEOUT, time.monotonic())
    with pytest.raises(LeaseLostError):
        real.registry.get(stale.job.type).run(stale.job, paused)
    stale_file = ExportFile("exports/x/stale.html", "text/html", "stale.html", 1, 1)
    assert not real.exports.save_file(stale.fence, export.id, stale_file)

    after = real.exports.get(export.id)
    assert after is not None
    assert after.file_key == published.file_key
    assert real.blobs.read(published.file_key) == data
    folder = real.settings.data_dir / "files" / "exports" / export.id
    assert [path.name for path in folder.iterdir()] == [fresh.fence.blob_prefix]
    assert real.exports.purge_files(real.blobs, completed_before_ms=2**62) == 1
    assert not folder.exists()


def test_a_put_never_touches_another_writers_temporary_file(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    folder = tmp_path / "exports" / "exp_1" / "1-abcd"
    folder.mkdir(parents=True)
    other = folder / ".partial-of-another-writer"
    other.write_bytes(b"half a file")
    blobs.put("exports/exp_1/1-abcd/deck.pdf", b"whole")
    assert other.read_bytes() == b"half a file"
    assert blobs.read("exports/exp_1/1-abcd/deck.pdf") == b"whole"


def test_delete_prefix_takes_a_folder_and_nothing_beside_it(tmp_path: Path) -> None:
    blobs = LocalBlobStore(tmp_path)
    blobs.put("exports/exp_1/1-a/deck.pdf", b"1")
    blobs.put("exports/exp_1/2-b/deck.pdf", b"2")
    blobs.put("exports/exp_10/1-c/deck.pdf", b"3")
    blobs.delete_prefix("exports/exp_1/")
    assert blobs.read("exports/exp_1/2-b/deck.pdf") is None
    assert blobs.read("exports/exp_10/1-c/deck.pdf") == b"3"
    with pytest.raises(ValueError, match="ends with"):
        blobs.delete_prefix("exports/exp_1")
    with pytest.raises(ValueError, match="escapes"):
        blobs.delete_prefix("../")


def test_a_file_recorded_before_a_cancel_goes_at_the_next_purge(real: System) -> None:
    """The attempt recorded its file, then the job was cancelled before it completed:
    the export is failed, and the purge takes the file at its next run."""
    owner = real.keys.create("fence").owner_id
    artifact_id = new_artifact(real, owner)
    run_to_completion(real, claim(real, "w0"))
    export = real.exports.create(owner, artifact_id, "html", None, Quota(100, 0))
    running = claim(real, "w1")
    folder = f"exports/{export.id}/{running.fence.blob_prefix}/"
    real.blobs.put(folder + "deck.html", b"<html></html>")
    recorded = ExportFile(folder + "deck.html", "text/html", "deck.html", 13, 1)
    assert real.exports.save_file(running.fence, export.id, recorded)

    assert JobControl(real.store).cancel(running.job.id, {owner}, by="test") is not None

    failed = real.exports.get(export.id)
    assert failed is not None
    assert failed.status == "failed"
    assert failed.error_code == "CANCELLED"
    assert real.exports.purge_files(real.blobs, completed_before_ms=1) == 1
    assert not (real.settings.data_dir / "files" / "exports" / export.id).exists()
