"""A served system with the real handlers, and owners calling it: the artifact and export API.

`api_maker` backs the `make_api` fixture: it serves `System`s built from the
test's settings on a real uvicorn (the real `artifact.create` and `export.run`
handlers, not the scripted engine handlers), each on the port its settings
name, so the download links it signs reach it. `ServedApi` hands out
`Caller`s: one owner's key on one contract-checked client.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from pydantic import SecretStr

from nxdocs.api.app import create_app
from nxdocs.clock import Clock
from nxdocs.db.engine import read_only
from nxdocs.db.schema import exports, jobs
from nxdocs.jobs.runner import WorkerThread
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.chat_server import API_KEY, MODEL, ChatServer
from tests.support.contract import check_response
from tests.support.export_samples import Sample
from tests.support.server import free_port, serving
from tests.support.waiting import wait_until


def contract_client(**kwargs: Any) -> httpx.Client:
    """An httpx client whose every response goes through the contract hook."""
    return httpx.Client(event_hooks={"response": [check_response]}, timeout=60, **kwargs)


@dataclass
class Caller:
    """One owner talking to the API with their own key."""

    http: httpx.Client
    owner_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def post(
        self, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return self.http.post(path, headers={**self.auth, **(headers or {})}, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(path, headers=self.auth, **kwargs)

    def delete(self, path: str) -> httpx.Response:
        return self.http.delete(path, headers=self.auth)

    def ok(self, path: str) -> dict[str, Any]:
        """`GET path`, which must answer 200; the body."""
        response = self.get(path)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def _created(self, path: str, status: int, body: dict[str, Any]) -> dict[str, Any]:
        response = self.post(path, json=body)
        assert response.status_code == status, response.text
        created: dict[str, Any] = response.json()
        return created

    def create(self, body: Sample | dict[str, Any], *, sync: bool = False) -> dict[str, Any]:
        """Create an artifact; the response body of a 201 (sync) or 202 (async)."""
        request = body.request() if isinstance(body, Sample) else body
        if sync:
            return self._created("/v1/artifacts", 201, request)
        return self._created("/v1/artifacts/async", 202, request)

    def ready_artifact(self, body: Sample | dict[str, Any]) -> dict[str, Any]:
        """Create an artifact synchronously; it must be `ready`."""
        created = self.create(body, sync=True)
        assert created["status"] == "ready", created
        return created

    def artifact(self, artifact_id: str) -> dict[str, Any]:
        return self.ok(f"/v1/artifacts/{artifact_id}")

    def job(self, job_id: str) -> dict[str, Any]:
        return self.ok(f"/v1/jobs/{job_id}")

    def finished_job(self, job_id: str, timeout: float = 60.0) -> dict[str, Any]:
        """The job once it is no longer processing."""

        def finished() -> dict[str, Any] | None:
            job = self.job(job_id)
            return job if job["status"] != "processing" else None

        job = wait_until(finished, timeout=timeout)
        assert job is not None
        return job

    def generated(self, body: dict[str, Any]) -> dict[str, Any]:
        """Create asynchronously, wait for the job, and return the artifact as it ended."""
        created = self.create(body)
        self.finished_job(created["job_id"])
        return self.artifact(created["id"])

    def export(self, artifact_id: str, fmt: str, **fields: Any) -> dict[str, Any]:
        """`POST /v1/exports` (sync); the finished export."""
        body = {"artifact_id": artifact_id, "format": fmt, **fields}
        return self._created("/v1/exports", 201, body)

    def export_async(self, artifact_id: str, fmt: str, **fields: Any) -> dict[str, Any]:
        body = {"artifact_id": artifact_id, "format": fmt, **fields}
        return self._created("/v1/exports/async", 202, body)


@dataclass
class ServedApi:
    """A served `System` and its contract-checked client."""

    system: System
    base_url: str
    http: httpx.Client

    def caller(self, name: str = "test") -> Caller:
        """A key for a brand-new owner."""
        created = self.system.keys.create(name, new_owner=True)
        return Caller(self.http, created.owner_id, created.secret)

    @property
    def files(self) -> Path:
        return self.system.settings.data_dir / "files"

    def export_files(self, export_id: str) -> list[Path]:
        """Every file (hidden ones too) under the export's directory of the blob store.

        The purge may remove the directory while it is walked: what vanished
        meanwhile is not there.
        """
        folder = self.files / "exports" / export_id
        try:
            return sorted(path for path in folder.rglob("*") if path.is_file())
        except FileNotFoundError:
            return []

    def count(self, table: sa.Table) -> int:
        with read_only(self.system.engine).connect() as connection:
            query = sa.select(sa.func.count()).select_from(table)
            return int(connection.execute(query).scalar_one())

    def counts(self) -> tuple[int, int]:
        """(export rows, job rows)."""
        return self.count(exports), self.count(jobs)

    def rows(self, table: sa.Table) -> list[dict[str, Any]]:
        with read_only(self.system.engine).connect() as connection:
            return [dict(row._mapping) for row in connection.execute(sa.select(table))]

    def job_row(self, job_id: str) -> dict[str, Any]:
        with read_only(self.system.engine).connect() as connection:
            row = connection.execute(sa.select(jobs).where(jobs.c.id == job_id)).one()
        return dict(row._mapping)

    @contextmanager
    def worker(self) -> Iterator[None]:
        """A worker thread for this system, stopped (gracefully) when the block ends."""
        thread = WorkerThread(self.system.worker())
        thread.start()
        try:
            yield
        finally:
            thread.stop()


MakeApi = Callable[..., ServedApi]
"""`make_api(*, clock=None, llm=None, embedded_worker=True, **overrides)`: see `api_maker`."""


@contextmanager
def serve_api(system: System, *, embedded_worker: bool = True) -> Iterator[ServedApi]:
    """Serve `system` on the port its settings name, so its download links point here."""
    app = create_app(system, embedded_worker=embedded_worker)
    with (
        serving(app, system.settings.port) as base_url,
        contract_client(base_url=base_url) as http,
    ):
        yield ServedApi(system, base_url, http)


@contextmanager
def api_maker(settings: Settings) -> Iterator[MakeApi]:
    """`make_api`: serve a system built from `settings` plus overrides; all stopped at the end.

    `clock` injects a clock (a `ManualClock` to expire links or retention);
    `llm` points prompt-only artifacts at a scripted chat server (with the
    `llm_*` settings `settings` has), whose held replies are released before
    the servers (and their embedded workers) stop, so shutdown never waits on them.
    """
    stack = ExitStack()
    held: list[ChatServer] = []

    def make(
        *,
        clock: Clock | None = None,
        llm: ChatServer | None = None,
        embedded_worker: bool = True,
        **overrides: Any,
    ) -> ServedApi:
        update: dict[str, Any] = {"host": "127.0.0.1", "port": free_port()}
        if llm is not None:
            held.append(llm)
            update.update(
                llm_base_url=llm.base_url, llm_model=MODEL, llm_api_key=SecretStr(API_KEY)
            )
        update.update(overrides)
        system = build_system(settings.model_copy(update=update), clock=clock)
        stack.callback(system.close)
        return stack.enter_context(serve_api(system, embedded_worker=embedded_worker))

    with stack:
        yield make
        for chat_server in held:
            chat_server.release.set()
