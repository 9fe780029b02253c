"""Deleting an artifact takes its exports and their files with it; every job still answers.

End to end through the API first (a served system, its embedded worker, the
real renderers), then the races with a running export, driven one step at a
time through the real handler, stores, blob store and executor: the artifact
is deleted while the export renders, and between the export's file write and
its record. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import httpx
import pytest

from nxdocs.exports.handler import ExportRunHandler, RenderOptions
from nxdocs.exports.quota import Quota
from nxdocs.jobs.execute import Executor, RunningJob
from nxdocs.jobs.handlers import HandlerRegistry
from nxdocs.jobs.retry import RetryPolicy
from nxdocs.storage.blobs import LocalBlobStore
from nxdocs.system import System
from tests.support.api import Caller, MakeApi, ServedApi
from tests.support.artifacts import llm_document, stored_artifact
from tests.support.attempts import LEASE, TIMEOUT, claim
from tests.support.chat_server import ChatServer, Reply
from tests.support.contract import NOT_FOUND
from tests.support.export_samples import DOCUMENT, PRESENTATION
from tests.support.jobs import state_of
from tests.support.waiting import wait_until

CONTENT = "# Doomed\n\n---\n\n## One\n\n- a\n\n---\n\n## Two\n\n- b"


def assert_gone(response: httpx.Response) -> None:
    assert response.status_code == 410, response.text
    assert response.json()["error"]["code"] == "LINK_EXPIRED"


def assert_not_found(response: httpx.Response) -> None:
    assert (response.status_code, response.json()) == (404, NOT_FOUND)


def test_deleting_an_artifact_takes_its_exports_and_their_files(
    api: ServedApi, alice: Caller, bob: Caller, anonymous: httpx.Client
) -> None:
    artifact = alice.ready_artifact(PRESENTATION)
    doomed = [alice.export(artifact["id"], fmt) for fmt in ("pdf", "html", "png")]
    kept_artifact = alice.ready_artifact(DOCUMENT)
    kept = alice.export(kept_artifact["id"], "pdf")
    links = [export["download_url"] for export in doomed]
    for link in links:
        assert anonymous.get(link).status_code == 200
    used = alice.ok("/v1/me")["quota"]["document_export_used"]
    assert used == 4

    # Another owner can neither delete it nor learn that it exists.
    assert_not_found(bob.delete(f"/v1/artifacts/{artifact['id']}"))
    assert alice.ok(f"/v1/exports/{doomed[0]['id']}")["status"] == "completed"

    deleted = alice.delete(f"/v1/artifacts/{artifact['id']}")

    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"id": artifact["id"], "object": "artifact", "deleted": True}
    for export, link in zip(doomed, links, strict=True):
        assert_not_found(alice.get(f"/v1/exports/{export['id']}"))
        # A link handed out before, still within its life, proves the export
        # existed: it is gone (410), not unknown (404), and not an error (500).
        gone = anonymous.get(link)
        assert_gone(gone)
        assert "deleted" in gone.json()["error"]["message"]
        assert not (api.files / "exports" / export["id"]).exists()
        # The job that made it still answers, as it ended.
        job = alice.job(export["job_id"])
        assert (job["status"], job["result"]) == ("completed", {"export_id": export["id"]})
    assert alice.job(artifact["job_id"])["status"] == "completed"
    assert_not_found(alice.get(f"/v1/artifacts/{artifact['id']}"))
    assert_not_found(alice.delete(f"/v1/artifacts/{artifact['id']}"))
    # Deleting does not hand exports back: the month's quota still counts them.
    assert alice.ok("/v1/me")["quota"]["document_export_used"] == used
    # The other artifact's export is untouched.
    shown = alice.ok(f"/v1/exports/{kept['id']}")
    assert anonymous.get(shown["download_url"]).status_code == 200
    assert [path.name for path in api.export_files(kept["id"])] == [kept["file_name"]]


def held(pages: int) -> Reply:
    """A good answer that the language-model stand-in sends only once released."""
    return replace(Reply.document(llm_document(pages, "Tea")), hang=True)


def test_an_export_waiting_for_a_deleted_artifact_fails_cleanly(
    make_api: MakeApi, chat: ChatServer
) -> None:
    api = make_api(llm=chat)
    caller = api.caller()
    chat.script(held(2))
    artifact = caller.create({"prompt": "Tea", "page_count": 2})
    wait_until(lambda: len(chat.received) == 1)  # the worker is generating
    export = caller.export_async(artifact["id"], "pdf")
    # The export's job has been claimed (a claim writes its run_id; a snooze keeps
    # it) and waits for the artifact, in a worker slot or snoozed.
    wait_until(lambda: api.job_row(export["job_id"])["run_id"] is not None)

    assert caller.delete(f"/v1/artifacts/{artifact['id']}").status_code == 200
    chat.release.set()
    job = caller.finished_job(export["job_id"])

    assert job["status"] == "failed", job
    assert job["error"]["code"] == "ARTIFACT_NOT_FOUND", job
    assert_not_found(caller.get(f"/v1/exports/{export['id']}"))
    assert not (api.files / "exports" / export["id"]).exists()
    # The artifact's own job ends too, whichever way, and keeps answering.
    assert caller.finished_job(artifact["job_id"])["status"] in {"completed", "failed"}


# The races, one step at a time ------------------------------------------------


def ready_artifact(system: System, owner: str) -> str:
    artifact_id = stored_artifact(system, owner, "Doomed", CONTENT)
    execute(system, system.registry, claim(system))
    return artifact_id


def execute(system: System, registry: HandlerRegistry, running: RunningJob) -> dict[str, Any]:
    """Run the claim through the engine's executor, as a worker would; the job's row after."""
    executor = Executor(
        system.store, registry, RetryPolicy(0.01, 0.05), running.worker_id, random.Random(1), 5.0
    )
    executor.execute(running)
    return state_of(system, running.job.id)


def delete(system: System, owner: str, artifact_id: str) -> Callable[[], None]:
    def run() -> None:
        assert system.exports.delete_artifact(system.artifacts, system.blobs, {owner}, artifact_id)

    return run


class DeletedMidRender(RunningJob):
    """A claim whose first progress report (the renderer's first page) comes just
    after the artifact was deleted."""

    on_progress: Callable[[], None] | None = None

    def report_progress(self, done: int, total: int) -> None:
        run = self.on_progress
        if run is not None:
            self.on_progress = None
            run()
        super().report_progress(done, total)


class DeletedUnderThePut(LocalBlobStore):
    """The real blob store, whose next put finds the artifact deleted and its
    export's folder removed just before it writes: the write would resurrect it."""

    before_put: Callable[[], None] | None = None

    def put(self, key: str, data: bytes) -> None:
        run = self.before_put
        if run is not None:
            self.before_put = None
            run()
        super().put(key, data)


def assert_ended_cleanly(system: System, row: dict[str, Any], export_id: str) -> None:
    assert (row["state"], row["error_code"]) == ("failed", "ARTIFACT_NOT_FOUND"), row
    assert system.exports.get(export_id) is None
    folder = system.settings.data_dir / "files" / "exports" / export_id
    assert not folder.exists(), sorted(folder.rglob("*"))


def test_an_export_rendering_when_its_artifact_is_deleted_fails_and_writes_nothing(
    real: System,
) -> None:
    owner = real.keys.create("race").owner_id
    artifact_id = ready_artifact(real, owner)
    export = real.exports.create(owner, artifact_id, "pdf", None, Quota(100, 0))
    running = claim(real)
    mid_render = DeletedMidRender(running.job, "w1", real.store, LEASE, TIMEOUT, time.monotonic())
    mid_render.on_progress = delete(real, owner, artifact_id)

    row = execute(real, real.registry, mid_render)

    assert mid_render.on_progress is None  # the delete did run mid-render
    assert_ended_cleanly(real, row, export.id)


def test_a_file_written_after_the_delete_removed_the_folder_is_taken_away(
    real: System,
) -> None:
    owner = real.keys.create("race").owner_id
    artifact_id = ready_artifact(real, owner)
    export = real.exports.create(owner, artifact_id, "html", None, Quota(100, 0))
    blobs = DeletedUnderThePut(real.settings.data_dir / "files")
    blobs.before_put = delete(real, owner, artifact_id)
    registry = HandlerRegistry()
    options = RenderOptions("A4", 24, 600.0)
    registry.register(ExportRunHandler(real.exports, real.artifacts, blobs, real.notifier, options))

    row = execute(real, registry, claim(real))

    assert blobs.before_put is None  # the delete did run, then the put wrote its file
    assert_ended_cleanly(real, row, export.id)


class FailingRemoval(LocalBlobStore):
    """The real blob store, as a process that dies between the commit and the removal
    of the files leaves it: the removal never happens."""

    def delete_prefix(self, prefix: str) -> None:
        raise OSError("the process died here")


def test_files_a_delete_left_behind_go_with_the_next_purge(
    real: System, caplog: pytest.LogCaptureFixture
) -> None:
    owner = real.keys.create("crash").owner_id
    artifact_id = ready_artifact(real, owner)
    export = real.exports.create(owner, artifact_id, "html", None, Quota(100, 0))
    assert execute(real, real.registry, claim(real))["state"] == "succeeded"
    folder = real.settings.data_dir / "files" / "exports" / export.id
    assert folder.exists()

    with caplog.at_level(logging.WARNING, logger="nxdocs.exports.store"):
        dying = FailingRemoval(real.settings.data_dir / "files")
        assert real.exports.delete_artifact(real.artifacts, dying, {owner}, artifact_id)

    # The delete stands: the rows are gone from view, the files are still there.
    assert real.artifacts.get({owner}, artifact_id) is None
    assert real.exports.get(export.id) is None
    assert folder.exists()
    assert "left to the purge" in caplog.text
    # The purge takes them at its next run, however young the files are: a
    # cutoff of 1 ms after the epoch purges nothing but tombstones.
    assert real.exports.purge_files(real.blobs, completed_before_ms=1) == 1
    assert not folder.exists()
    assert real.exports.purge_files(real.blobs, completed_before_ms=1) == 0
    # Nothing a late attempt writes revives a tombstone.
    with real.engine.begin() as connection:
        real.exports.mark_completed(connection, export.id)
    assert real.exports.get(export.id) is None
