"""Job control against a model: random interleavings of create, claim, complete,
fail, cancel, lease expiry and retention, run on the real store of each backend.

A hypothesis state machine drives the store, the artifact and export stores
(whose status follows their job through the handlers' hooks), `JobControl` and
`JobLister`, and keeps a model of what each job must be. After every step the
database is read back and compared with the model:
- every job's state, attempts, holder, error and timestamps are the model's: in
  particular a job has at most one terminal write, and once written its state
  never changes again (it can only disappear through retention);
- a finished job's artifact or export agrees with it (ready or completed with
  success; failed, with the job's error code, with a failure or a cancel);
- a cancelled job is never claimed; retention takes only finished jobs whose
  end is older than the cutoff, and their idempotency keys with them;
- listing, walked page by page to the end, returns exactly the owner's matching
  jobs, newest first by (created_at, id), also from a cursor whose job is gone.

The clock is moved by hand, so creation times differ and sometimes tie (ties
are broken by id). Each example starts from empty tables of one database: a
SQLite file or a PostgreSQL schema per backend, as the `database_url` fixture
makes them.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from nxdocs.artifacts.store import NewArtifact
from nxdocs.db.schema import artifacts, exports, idempotency_keys, jobs
from nxdocs.exports.quota import Quota
from nxdocs.ids import id_time_ms
from nxdocs.jobs.control import CANCELLED, JobAlreadyFinishedError, JobControl
from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN, ClaimedJob, ErrorInfo, JobState
from nxdocs.jobs.retry import GiveUp, RetryDecision, RetryIn
from nxdocs.jobs.store import ATTEMPTS_EXHAUSTED
from nxdocs.poll.listing import JobFilter, JobLister
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.clock import ManualClock
from tests.support.jobs import expire_lease, set_row

LEASE = 30.0
MAX_ATTEMPTS = 2
WORKERS = ("w1", "w2")
RUNS = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    database=None,
    report_multiple_bugs=False,
    suppress_health_check=[HealthCheck.too_slow],
)
NO_QUOTA = Quota(10**9, 0)
STATUSES = ("processing", "completed", "failed")
ACTIVE = (JobState.QUEUED, JobState.RUNNING)
# What a job's resource shows, by resource: while its job is active, when it succeeded,
# and when it failed or was cancelled.
RESOURCE_STATUS = {
    ARTIFACT_CREATE: ("generating", "ready", "failed"),
    EXPORT_RUN: ("processing", "completed", "failed"),
}


@dataclass
class ModelJob:
    id: str
    owner: str
    type: str
    resource: str
    created_at: int
    keyed: bool
    state: JobState = JobState.QUEUED
    attempts: int = 0
    holder: tuple[str, str] | None = None
    """(worker, run id) of the claim that holds it while running."""
    error_code: str | None = None
    updated_at: int = 0
    terminal_writes: list[str] = field(default_factory=list)
    deleted: bool = False

    def finish(self, state: JobState, error_code: str | None, at: int) -> None:
        assert not self.state.is_terminal, f"{self.id}: {state} written after {self.state}"
        self.state, self.error_code, self.updated_at = state, error_code, at
        self.holder = None
        self.terminal_writes.append(state)


@dataclass(frozen=True)
class Claim:
    worker: str
    job: ClaimedJob


class JobControlMachine(RuleBasedStateMachine):
    """Which queued jobs a claim takes is the store's choice (its fair order), so the
    model follows what each claim returns. That choice is made repeatable (see
    `_queue_in_turn`), and no draw depends on it anyway (an index is taken modulo,
    no precondition reads states), so hypothesis replays an example the same way."""

    job_ids = Bundle("job_ids")

    def __init__(self, system: System, clock: ManualClock, owners: tuple[str, str]) -> None:
        super().__init__()
        self.system, self.clock, self.owners = system, clock, owners
        self.control = JobControl(system.store)
        self.lister = JobLister(system.engine)
        self.jobs: dict[str, ModelJob] = {}
        """Every job made in this example, in the order made, deleted ones included."""
        self.artifacts: dict[str, list[str]] = {owner: [] for owner in owners}
        self.claims: list[Claim] = []
        """Every claim handed out, stale ones included."""
        self.gone: dict[str, list[str]] = {owner: [] for owner in owners}
        """Per owner, the ids of jobs retention deleted, in the order it did."""
        self.checks = 0
        self.queued_in_turn = 0
        with system.engine.begin() as connection:
            for table in (idempotency_keys, exports, artifacts, jobs):
                connection.execute(table.delete())

    # -- creating ---------------------------------------------------------

    @initialize(target=job_ids, owners=st.lists(st.sampled_from([0, 1]), min_size=2, max_size=6))
    def first_jobs(self, owners: list[int]) -> Any:
        return multiple(*(self._artifact(self.owners[n], keyed=False) for n in owners))

    @rule(
        target=job_ids,
        owner=st.sampled_from([0, 1]),
        exports=st.lists(st.integers(-1, 3), min_size=1, max_size=3),
        keyed=st.booleans(),
        ms=st.sampled_from([0, 0, 1, 1000]),
    )
    def create(self, owner: int, exports: list[int], keyed: bool, ms: int) -> Any:
        """A few jobs of one owner at once, `ms` after the ones before, so creation
        times often tie: for each of `exports`, an artifact with its job (-1, or while
        the owner has none), or an export of one of its artifacts with its job."""
        self.clock.advance(ms / 1000)
        owner_id = self.owners[owner]
        made = []
        for export in exports:
            mine = self.artifacts[owner_id]
            if export < 0 or not mine:
                made.append(self._artifact(owner_id, keyed=keyed))
                continue
            artifact_id = mine[-1 - export % len(mine)]
            created = self.system.exports.create(owner_id, artifact_id, "pdf", None, NO_QUOTA)
            made.append(self._track(created.job_id, owner_id, EXPORT_RUN, created.id, keyed))
        return multiple(*made)

    def _artifact(self, owner_id: str, *, keyed: bool) -> str:
        made = self.system.artifacts.create(new_artifact(owner_id))
        self.artifacts[owner_id].append(made.id)
        return self._track(made.job_id, owner_id, ARTIFACT_CREATE, made.id, keyed)

    def _track(self, job_id: str, owner_id: str, job_type: str, resource: str, keyed: bool) -> str:
        now = self.clock.now_ms()
        assert id_time_ms(job_id) == now
        self.jobs[job_id] = ModelJob(
            job_id, owner_id, job_type, resource, now, keyed=keyed, updated_at=now
        )
        if keyed:
            with self.system.engine.begin() as connection:
                connection.execute(
                    idempotency_keys.insert().values(
                        owner_id=owner_id,
                        key=f"key-{job_id}",
                        fingerprint="0" * 64,
                        resource_id=resource,
                        job_id=job_id,
                        created_at=now,
                        expires_at=now + 10**12,
                    )
                )
        self._queue_in_turn(job_id)
        return job_id

    def _queue_in_turn(self, job_id: str) -> None:
        """Make the job due in the order the model queued it (enqueue or retry).

        Claims take jobs by `run_at`, then by id; run_at is the database's clock
        in ms, where jobs queued in one millisecond tie and the random ids decide.
        Numbering them instead, all long due, makes each claim's choice the same
        whenever hypothesis replays an example, as its shrinking needs."""
        self.queued_in_turn += 1
        set_row(self.system, job_id, run_at=self.queued_in_turn)

    # -- the worker's side --------------------------------------------------

    @rule(
        worker=st.sampled_from(WORKERS),
        limit=st.integers(0, 3),
        pick=st.integers(0, 15),
        outcome=st.sampled_from([None, "complete", "complete", "impostor", "retry", "give up"]),
        code=st.sampled_from(["RENDER_FAILED", "GENERATION_FAILED"]),
    )
    def work(self, worker: str, limit: int, pick: int, outcome: str | None, code: str) -> None:
        """A worker claims up to `limit` jobs, then reports `outcome` on a claim
        (`pick` claims back from the latest), which may be stale by now. One rule,
        so that an example claiming jobs also reports on them."""
        if limit:
            self.claim(worker, limit)
        if outcome is not None and self.claims:
            self.report(self.claims[-1 - pick % len(self.claims)], outcome, code)

    def claim(self, worker: str, limit: int) -> None:
        queued = [job for job in self.jobs.values() if job.state is JobState.QUEUED]
        claimed = self.system.store.claim(worker, limit, LEASE)
        assert len(claimed) == min(limit, len(queued)), (claimed, queued)
        for job in claimed:
            model = self.jobs[job.id]
            assert model.state is JobState.QUEUED, f"claimed {job.id}, which is {model.state}"
            assert CANCELLED not in model.terminal_writes
            assert job.attempt == model.attempts + 1
            model.state, model.attempts = JobState.RUNNING, job.attempt
            model.holder = (worker, job.run_id)
            self.claims.append(Claim(worker, job))

    def report(self, claim: Claim, outcome: str, code: str) -> None:
        """Complete or fail the claim's job; an impostor completes another worker's claim.
        Only a write under the claim that holds the job now is taken."""
        worker = other_worker(claim.worker) if outcome == "impostor" else claim.worker
        model = self.jobs[claim.job.id]
        expected = (
            not model.deleted
            and model.state is JobState.RUNNING
            and model.attempts == claim.job.attempt
            and model.holder == (worker, claim.job.run_id)
        )
        if outcome in ("complete", "impostor"):
            done = self.system.store.complete(claim.job, worker, {"done": claim.job.id})
            assert done == expected, (outcome, claim, model)
            if done:
                model.finish(JobState.SUCCEEDED, None, self.clock.now_ms())
            return
        # As the worker's policy decides: the last attempt is never retried.
        last = claim.job.attempt >= claim.job.max_attempts
        decision: RetryDecision = RetryIn(0) if outcome == "retry" and not last else GiveUp()
        error = ErrorInfo(code, f"attempt {claim.job.attempt} failed")
        failed = self.system.store.fail(claim.job, worker, error, decision)
        assert failed == expected, (outcome, claim, model)
        if failed and isinstance(decision, GiveUp):
            model.finish(JobState.FAILED, code, self.clock.now_ms())
        elif failed:
            model.state, model.holder, model.error_code = JobState.QUEUED, None, code
            self._queue_in_turn(model.id)

    @rule(pick=st.integers(0, 7), reclaim=st.booleans())
    def lose_lease(self, pick: int, reclaim: bool) -> None:
        """A running job's worker vanishes: its lease runs out and the reaper finds it;
        with `reclaim`, the other worker then claims every queued job, that one too,
        so that the vanished worker's claim is stale."""
        running = [job for job in self.jobs.values() if job.state is JobState.RUNNING]
        if not running:
            assert self.system.store.reap_expired_leases() == 0
            return
        model = running[pick % len(running)]
        expire_lease(self.system, model.id)
        assert self.system.store.reap_expired_leases() == 1
        if model.attempts >= MAX_ATTEMPTS:
            model.finish(JobState.FAILED, ATTEMPTS_EXHAUSTED, self.clock.now_ms())
            return
        assert model.holder is not None
        worker, _ = model.holder
        model.state, model.holder = JobState.QUEUED, None
        self._queue_in_turn(model.id)
        if reclaim:
            queued = sum(job.state is JobState.QUEUED for job in self.jobs.values())
            self.claim(other_worker(worker), queued)

    # -- the client's and maintenance's side ---------------------------------

    @rule(
        job_id=job_ids,
        own=st.sampled_from([True, True, True, False]),
        by=st.sampled_from(["client", "operator"]),
    )
    def cancel(self, job_id: str, own: bool, by: str) -> None:
        model = self.jobs[job_id]
        owner = model.owner if own else other_owner(self.owners, model.owner)
        if model.deleted or not own:
            assert self.control.cancel(job_id, {owner}, by=by) is None
            return
        if model.state.is_terminal:
            with pytest.raises(JobAlreadyFinishedError) as finished:
                self.control.cancel(job_id, {owner}, by=by)
            assert finished.value.job.state is model.state
            return
        view = self.control.cancel(job_id, {owner}, by=by)
        assert view is not None
        assert view.state is JobState.CANCELLED
        assert view.error is not None
        assert view.error.code == CANCELLED
        assert by in view.error.message
        model.finish(JobState.CANCELLED, CANCELLED, self.clock.now_ms())

    @rule(
        ms=st.sampled_from([0, 1, 1000]),
        keep_ms=st.sampled_from([0, 1, 1000]),
        batch=st.sampled_from([1, 2, 1000]),
    )
    def retain(self, ms: int, keep_ms: int, batch: int) -> None:
        """Maintenance deletes the jobs that finished over `keep_ms` ago, `batch` at a time."""
        self.clock.advance(ms / 1000)
        cutoff = self.clock.now_ms() - keep_ms
        going = [
            job
            for job in self.jobs.values()
            if not job.deleted and job.state.is_terminal and job.updated_at < cutoff
        ]
        assert self.control.delete_finished(cutoff, batch=batch, max_batches=10_000) == len(going)
        for job in sorted(going, key=lambda job: job.updated_at):
            job.deleted = True
            self.gone[job.owner].append(job.id)

    @rule(
        data=st.data(),
        owner=st.sampled_from([0, 1]),
        status=st.sampled_from([None, *STATUSES]),
        job_type=st.sampled_from([None, ARTIFACT_CREATE, EXPORT_RUN]),
        limit=st.integers(1, 4),
    )
    def list_jobs(
        self, data: st.DataObject, owner: int, status: str | None, job_type: str | None, limit: int
    ) -> None:
        """Any filter, from any cursor: a live job's, a deleted one's, another owner's."""
        times = sorted({job.created_at for job in self.jobs.values()})
        bound = st.none() | st.sampled_from(times).flatmap(
            lambda t: st.sampled_from([t - 1, t, t + 1])
        )
        after = data.draw(bound if times else st.none(), label="created_after")
        before = data.draw(bound if times else st.none(), label="created_before")
        cursors = list(self.jobs)
        cursor = data.draw(st.none() | st.sampled_from(cursors) if cursors else st.none())
        found = JobFilter(status, job_type, after, before)
        self._check_listing(self.owners[owner], found, limit, cursor)

    # -- what must hold after every step -------------------------------------

    @invariant()
    def database_agrees_with_the_model(self) -> None:
        """Read back once per step: the jobs, their resources and keys, and one listing."""
        with self.system.engine.connect() as connection:
            rows = {row.id: row for row in connection.execute(sa.select(jobs))}
            resources = {
                row.id: row
                for table in (artifacts, exports)
                for row in connection.execute(
                    sa.select(table.c.id, table.c.status, table.c.error_code)
                )
            }
            keyed = set(connection.execute(sa.select(idempotency_keys.c.job_id)).scalars())
        live = {job_id for job_id, job in self.jobs.items() if not job.deleted}
        assert set(rows) == live
        assert keyed == {job_id for job_id in live if self.jobs[job_id].keyed}
        for job in self.jobs.values():
            assert len(job.terminal_writes) <= 1, job
            if not job.deleted:
                check_row(job, rows[job.id]._mapping)
            check_resource(job, resources[job.resource]._mapping)
        self._check_a_listing(list(rows.values()))

    def _check_a_listing(self, rows: list[sa.Row[Any]]) -> None:
        """One walk per step, in turn over the owners, filters and page sizes; every
        third one from the cursor of the owner's job that retention deleted last."""
        self.checks += 1
        owner = self.owners[self.checks % 2]
        times = sorted(job.created_at for job in self.jobs.values()) or [0]
        filters = some_filters(times[len(times) // 2])
        found = filters[(self.checks // 2) % len(filters)]
        gone = self.gone[owner]
        after = gone[-1] if gone and self.checks % 3 == 0 else None
        self._check_listing(owner, found, 2 + (self.checks // 2) % 3, after, rows)

    def _check_listing(
        self,
        owner: str,
        found: JobFilter,
        limit: int,
        after: str | None,
        rows: list[sa.Row[Any]] | None = None,
    ) -> None:
        """Walk the owner's list to the end and compare it with the table's rows."""
        if rows is None:
            with self.system.engine.connect() as connection:
                rows = list(connection.execute(sa.select(jobs)))
        expected = [
            (row.id, row.state)
            for row in sorted(rows, key=lambda row: (row.created_at, row.id), reverse=True)
            if row.owner_id == owner
            and matches(row._mapping, found)
            and (after is None or (row.created_at, row.id) < cursor_position(after))
        ]
        listed = walk(self.lister, owner, found, limit, after)
        assert listed == expected, (found, limit, after)


def new_artifact(owner_id: str) -> NewArtifact:
    return NewArtifact(
        owner_id=owner_id,
        name="Tides",
        type="presentation",
        prompt=None,
        content="# Tides",
        page_count=None,
        brand_id=None,
        theme_id=None,
        ai_instruction=None,
        named_by_client=True,
    )


def other_worker(worker: str) -> str:
    return WORKERS[1 - WORKERS.index(worker)]


def other_owner(owners: tuple[str, str], owner: str) -> str:
    return owners[1 - owners.index(owner)]


def check_row(job: ModelJob, row: Any) -> None:
    assert row["owner_id"] == job.owner
    assert row["type"] == job.type
    assert row["state"] == job.state, (job, dict(row))
    assert row["attempts"] == job.attempts
    assert (row["created_at"], row["updated_at"]) == (job.created_at, job.updated_at)
    assert row["error_code"] == job.error_code
    holder = None if row["worker_id"] is None else (row["worker_id"], row["run_id"])
    assert holder == job.holder
    assert (row["lease_expires_at"] is not None) == (job.state is JobState.RUNNING)


def check_resource(job: ModelJob, row: Any) -> None:
    """The artifact or export shows its job's outcome, even after the job is deleted."""
    active, succeeded, failed = RESOURCE_STATUS[job.type]
    if job.state in ACTIVE:
        assert (row["status"], row["error_code"]) == (active, None), (job, dict(row))
    elif job.state is JobState.SUCCEEDED:
        assert (row["status"], row["error_code"]) == (succeeded, None), (job, dict(row))
    else:
        assert (row["status"], row["error_code"]) == (failed, job.error_code), (job, dict(row))


def some_filters(t: int) -> list[JobFilter]:
    """Filters for the checks after each step, with time bounds at a creation time."""
    return [
        JobFilter(),
        JobFilter(status="processing"),
        JobFilter(status="completed"),
        JobFilter(status="failed"),
        JobFilter(type=EXPORT_RUN),
        JobFilter(status="failed", type=ARTIFACT_CREATE),
        JobFilter(created_after=t),
        JobFilter(created_before=t),
        JobFilter(status="processing", created_after=t - 1, created_before=t + 1000),
        JobFilter(status="failed", created_before=t + 1),
    ]


def matches(row: Any, found: JobFilter) -> bool:
    return (
        (found.status is None or JobState(row["state"]).public_status == found.status)
        and (found.type is None or row["type"] == found.type)
        and (found.created_after is None or row["created_at"] > found.created_after)
        and (found.created_before is None or row["created_at"] < found.created_before)
    )


def cursor_position(cursor: str) -> tuple[int, str]:
    """Where a page continues: the cursor's creation time, which its id carries."""
    created_at = id_time_ms(cursor)
    assert created_at is not None
    return created_at, cursor


def walk(
    lister: JobLister, owner: str, found: JobFilter, limit: int, after: str | None
) -> list[tuple[str, str]]:
    """Every page to the end: (id, state) of each job listed."""
    listed: list[tuple[str, str]] = []
    for _ in range(1000):
        page, more = lister.page(owner, found, limit=limit, after=after)
        assert len(page) <= limit
        listed.extend((row.id, row.state) for row in page)
        if not more:
            return listed
        assert len(page) == limit, "a page short of the limit says there is more"
        after = page[-1].id
    raise AssertionError("paging never ended")


@pytest.fixture
def model_system(settings: Settings, clock: ManualClock) -> Iterator[System]:
    """A system with the real handlers' hooks, so artifacts and exports follow their jobs."""
    built = build_system(settings.model_copy(update={"max_attempts": MAX_ATTEMPTS}), clock=clock)
    yield built
    built.close()


# A passing run takes well under a minute per database; a failing one is shrunk on
# the real database, a few hundred examples more, which can take several.
@pytest.mark.timeout(600)
def test_job_control_agrees_with_its_model(model_system: System, clock: ManualClock) -> None:
    ann, bo = (model_system.keys.create(name, new_owner=True).owner_id for name in ("ann", "bo"))
    machine = functools.partial(JobControlMachine, model_system, clock, (ann, bo))
    # Typed as a class, but any factory of machines will do (its docstring says so).
    run_state_machine_as_test(machine, settings=RUNS)  # type: ignore[arg-type]
