"""Acceptance: chaos. Two API processes and four workers on PostgreSQL and S3 take
1,000 jobs while a random worker is SIGKILLed every few seconds (while more than half
are up) and started again, one API process is killed and started again, and
PostgreSQL restarts once (when no process is starting).

Every process is the real `nxdocs` console script (`serve --no-worker` and `worker`,
both `--no-migrate` after one `nxdocs db upgrade`), each node with a data directory
of its own, on a database of the test's own and a SeaweedFS bucket. Two owners
submit artifact creates (tiny Markdown) and exports (pdf, pptx, png, html) over
HTTP to both API nodes (`tests/support/chaos.py` has the load and the chaos).
Afterwards:

- every acknowledged create (a 2xx) has a job that succeeded, within its attempts,
  and so has every job in the database: a create sent again never made a second one;
- each job ended once: one webhook delivery row per job (a delivery is written in
  the transaction that ends the job, under a new event id), each delivered;
- every artifact is ready; every export is completed, its recorded file in the
  bucket, and it downloads (the same bytes) from both API nodes and opens (pypdf,
  python-pptx, zipfile + Pillow, an HTML parser);
- both API nodes show every job completed;
- no job a kill orphaned stayed held by the dead worker longer than 1.5 leases
  (its lease, then half a lease until the maintenance leader's reaper runs again)
  plus slack; if the leader itself was killed meanwhile, 1.5 leases from that kill
  (another worker takes the role over once the dead leader's lease has run out).

The figures (jobs, kills, restarts, worst recovery delay, durations) are printed and
written to `chaos.json` in the test's `tmp_path` (and to `$CHAOS_REPORT` if set).
It restarts the whole local PostgreSQL cluster, so it is `serial`; with
CHAOS_RESTART_POSTGRES=0 it leaves the cluster alone (and may run beside others).
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa

from nxdocs.db.schema import artifacts, exports, idempotency_keys, jobs, webhook_deliveries
from tests.conftest import POSTGRES_URL
from tests.support import postgres_cluster
from tests.support.chaos import (
    WORKER,
    Acknowledged,
    ApiNode,
    Chaos,
    ChaosPlan,
    Kill,
    Load,
    fresh_database,
)
from tests.support.exports import assert_hosted_export
from tests.support.file_readers import html_pages, pdf_pages, png_pages, pptx_slides
from tests.support.process import child_env, nxdocs
from tests.support.seaweedfs import SeaweedS3, object_keys, seaweedfs, use_aws_environment
from tests.support.server import free_port
from tests.support.waiting import wait_until
from tests.support.worker_processes import WorkerProcesses
from tests.webhooks.receiver import Receiver

PLAN = ChaosPlan.from_environment()
OWNERS = 2
API_NODES = 2
WORKER_NODES = 4
MAX_ATTEMPTS = 10
"""A job may be orphaned by a kill and lose a lease in the restart more than once."""
SLACK_SECONDS = 2.0
"""Beyond 1.5 leases: the watch's polling, and a loaded two-core machine."""
DRAIN_SECONDS = 150.0
"""After the last submission, until every job has ended."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.serial,
    pytest.mark.chaos,
    pytest.mark.timeout(int(PLAN.seconds + DRAIN_SECONDS + 240)),
]


def node_settings(plan: ChaosPlan, database_url: str, s3: SeaweedS3, bucket: str) -> dict[str, Any]:
    return {
        "database_url": database_url,
        "s3_bucket": bucket,
        "s3_endpoint_url": s3.endpoint_url,
        "s3_region": s3.region,
        "lease_seconds": plan.lease_seconds,
        "max_attempts": MAX_ATTEMPTS,
        "backoff_base_seconds": 0.2,
        "backoff_max_seconds": 1.0,
        # A worker's loop runs the reaper between claims, at the latest after this.
        "poll_interval_seconds": 0.5,
        "worker_concurrency": 4,
        "shutdown_grace_seconds": 3.0,
        # Two owners submit everything: no rate limit, cap or quota may refuse them.
        "rate_limit_per_second": 100_000,
        "rate_limit_burst": 100_000,
        "max_active_jobs_per_owner": 0,
        "monthly_export_limit": 1_000_000,
        # A create cut off by the API kill holds its Idempotency-Key this + 30 s.
        "sync_wait_seconds": 1.0,
        "webhook_allowed_networks": "127.0.0.0/8",
        "webhook_backoff_base_seconds": 0.2,
        "webhook_backoff_max_seconds": 1.0,
        "webhook_disable_after_failures": 100_000,
        # A delivery whose sender was killed is sent again once this has passed.
        "webhook_timeout_seconds": 2.0,
        "png_dpi": 50,
        "log_level": "info",
    }


@pytest.fixture
def database_url() -> Iterator[str]:
    """A fresh database; the cluster is up again at the end, whatever happened."""
    if PLAN.restart_postgres:
        reason = postgres_cluster.cannot_restart(POSTGRES_URL)
        if reason is not None:
            pytest.skip(f"{reason} (CHAOS_RESTART_POSTGRES=0 runs without the restart)")
    postgres_cluster.ensure_running()
    with fresh_database(POSTGRES_URL) as url, postgres_cluster.restored_cluster():
        yield url


@pytest.fixture
def reads(database_url: str) -> Iterator[sa.Engine]:
    engine = sa.create_engine(database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


@pytest.fixture
def s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SeaweedS3]:
    """SeaweedFS; every process started from here on finds its keys in the environment."""
    with seaweedfs(tmp_path / "seaweedfs") as server:
        use_aws_environment(monkeypatch, server.aws_environment())
        yield server


@dataclass
class Site:
    """The running deployment: API nodes, workers (through the chaos), owners' keys."""

    apis: list[ApiNode]
    workers: WorkerProcesses
    chaos: Chaos
    keys: list[str]
    receiver: Receiver
    bucket: str

    def stop_gracefully(self) -> None:
        """Every process still up; SIGTERM ends each; no log shows a traceback."""
        assert all(api.alive() for api in self.apis), [api.tail() for api in self.apis]
        live = self.chaos.live
        assert all(w.process.poll() is None for w in live), self.workers.diagnostics()
        self.workers.stop_all()
        for api in self.apis:
            api.stop()
        self.workers.assert_no_traceback()
        for api in self.apis:
            assert "Traceback" not in api.text(), f"{api.name}:\n{api.tail(80)}"


@contextmanager
def deployment(
    tmp_path: Path, database_url: str, reads: sa.Engine, s3: SeaweedS3
) -> Iterator[Site]:
    """Migrated once; two owners with a webhook endpoint each; the API nodes and the
    workers up (each node with a data directory of its own); all stopped at the end."""
    bucket = s3.create_bucket()
    settings = node_settings(PLAN, database_url, s3, bucket)

    def env(data_dir: Path) -> dict[str, str]:
        given = {**settings, "data_dir": str(data_dir)}
        return child_env(**{name: str(value) for name, value in given.items()})

    upgraded = nxdocs("db", "upgrade", env=env(tmp_path / "cli-data"))
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    keys = [create_key(env(tmp_path / "cli-data"), n) for n in range(OWNERS)]
    with ExitStack() as stack:
        receiver = Receiver()
        receiver.start()
        stack.callback(receiver.stop)
        apis = [
            ApiNode(f"api{n}", tmp_path, env(tmp_path / f"api{n}-data"), free_port())
            for n in range(API_NODES)
        ]
        for api in apis:
            api.start()
            stack.callback(api.stop)
        for api in apis:
            api.wait_ready()
        worker_settings = {k: v for k, v in settings.items() if k != "database_url"}
        group = WorkerProcesses(tmp_path, database_url, tmp_path, command=WORKER, **worker_settings)
        workers = stack.enter_context(closing(group))
        nodes = [tmp_path / f"worker{n}-data" for n in range(WORKER_NODES)]
        chaos = Chaos(PLAN, workers, nodes, apis, reads)
        chaos.start_workers()
        for key in keys:
            create_endpoint(apis[0], key, receiver.url)
        yield Site(apis, workers, chaos, keys, receiver, bucket)


def test_chaos(tmp_path: Path, database_url: str, reads: sa.Engine, s3: SeaweedS3) -> None:
    figures: dict[str, Any] = {"seed": PLAN.seed, "jobs_planned": PLAN.jobs}
    marks = {"start": time.monotonic()}
    try:
        with deployment(tmp_path, database_url, reads, s3) as site:
            load = Load(PLAN, [api.base_url for api in site.apis], site.keys)
            marks["setup"] = time.monotonic()
            site.chaos.start()
            try:
                load.run()
                marks["submitting"] = time.monotonic()
                wait_all_ended(reads, site)
            finally:
                load.abort.set()
                site.chaos.stop()
                marks["draining"] = time.monotonic()
                figures.update(load_figures(load) | chaos_figures(site.chaos))

            check_load(load)
            figures.update(check_jobs(reads, load.acknowledged))
            marks["checking jobs"] = time.monotonic()
            figures["webhook_duplicates_received"] = check_deliveries(
                reads, site.receiver, figures["jobs_in_database"]
            )
            marks["checking webhooks"] = time.monotonic()
            acknowledged = load.acknowledged
            figures["stale_export_objects"] = check_resources(reads, s3, site.bucket, acknowledged)
            check_downloads(site.apis, site.keys, acknowledged)
            marks["checking files"] = time.monotonic()
            check_jobs_through_api(site.apis, site.keys, acknowledged)
            marks["checking the API"] = time.monotonic()
            check_recovery(site.chaos)
            site.stop_gracefully()
    finally:
        marks["stopping"] = time.monotonic()
        figures["seconds"] = phases(marks)
        report(tmp_path, figures)


def phases(marks: dict[str, float]) -> dict[str, float]:
    """Seconds each phase took (a mark is set where its phase ends), and in all."""
    names = list(marks)
    spans = {
        names[i]: round(marks[names[i]] - marks[names[i - 1]], 1) for i in range(1, len(names))
    }
    return spans | {"total": round(marks[names[-1]] - marks[names[0]], 1)}


def load_figures(load: Load) -> dict[str, Any]:
    exported = Counter(a.planned.format for a in load.acknowledged if a.artifact)
    return {
        "acknowledged": len(load.acknowledged),
        "unacknowledged": len(load.unacknowledged),
        "artifact_creates": len(load.acknowledged) - sum(exported.values()),
        "exports": dict(exported),
        "create_retries": dict(load.retried),
    }


def chaos_figures(chaos: Chaos) -> dict[str, Any]:
    delays = [delay for kill in chaos.kills for delay in kill.released.values()]
    window = 1.5 * PLAN.lease_seconds + SLACK_SECONDS
    leader_alive = [
        delay
        for kill in chaos.kills
        for job_id, delay in kill.released.items()
        if chaos.leader_lost_after(kill, job_id, window) == kill.at
    ]
    return {
        "worker_kills": len(chaos.kills),
        "maintenance_leader_kills": sum(1 for kill in chaos.kills if kill.led),
        "worker_restarts": len(chaos.restarted_workers()),
        "kills_that_orphaned_jobs": sum(1 for kill in chaos.kills if kill.held),
        "jobs_orphaned_by_kills": sum(len(kill.held) for kill in chaos.kills),
        "api_restarts": sum(1 for o in chaos.outages if o.what != "postgres"),
        "postgres_restarts": sum(1 for o in chaos.outages if o.what == "postgres"),
        "outages": [{"what": o.what, "seconds": round(o.seconds, 2)} for o in chaos.outages],
        "lease_seconds": PLAN.lease_seconds,
        "worst_recovery_seconds": round(max(delays, default=0.0), 2),
        "worst_recovery_leader_alive_seconds": round(max(leader_alive, default=0.0), 2),
        "mean_recovery_seconds": round(sum(delays) / len(delays), 2) if delays else None,
        "recovery_bound_seconds": window,
        "kills": [kill_figures(chaos, kill) for kill in chaos.kills],
    }


def kill_figures(chaos: Chaos, kill: Kill) -> dict[str, Any]:
    """When (seconds into the chaos), whom, the jobs it held, how long they stayed held."""
    allowed = [chaos.allowed_delay(kill, job_id, SLACK_SECONDS) for job_id in kill.held]
    return {
        "at": round(kill.at - chaos.began, 1),
        "worker": kill.worker,
        "leader": kill.led,
        "held": len(kill.held),
        "worst": round(max(kill.released.values(), default=0.0), 2),
        "allowed": round(max(allowed, default=0.0), 2),
    }


def check_load(load: Load) -> None:
    """Every create was acknowledged in the end; none was refused or met a server error
    (other than a 503 while the database restarted)."""
    assert not load.refused, load.refused[:10]
    assert not load.unacknowledged, f"never acknowledged: {load.unacknowledged[:10]}"
    errors = [o for o in load.retried if o.startswith("5") and "UNAVAILABLE" not in o]
    assert not errors, f"a create answered a server error: {load.retried}"


def create_key(env: dict[str, str], n: int) -> str:
    created = nxdocs("keys", "create", "--name", f"chaos{n}", "--new-owner", env=env)
    assert created.returncode == 0, created.stdout + created.stderr
    return created.stdout.strip().splitlines()[-1]


def create_endpoint(api: ApiNode, key: str, url: str) -> None:
    response = httpx.post(
        f"{api.base_url}/v1/webhook_endpoints",
        headers={"Authorization": f"Bearer {key}"},
        json={"url": url, "events": ["job.completed", "job.failed"]},
        timeout=30,
    )
    assert response.status_code == 201, response.text


def states(reads: sa.Engine) -> dict[str, int] | None:
    """Jobs per state; None while the database does not answer."""
    try:
        with reads.connect() as connection:
            rows = connection.execute(
                sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)
            ).all()
    except sa.exc.DBAPIError:
        return None
    return {state: count for state, count in rows}


def wait_all_ended(reads: sa.Engine, site: Site) -> None:
    """Until no job is queued or running, the watch has seen every orphan released, and
    the chaos has restarted what it was to restart."""
    seen: dict[str, int] | None = None

    def ended() -> bool:
        nonlocal seen
        if site.chaos.failure is not None:
            raise AssertionError(f"the chaos failed:\n{site.chaos.failure}")
        current = states(reads)
        if current is None:
            return False
        seen = current
        unfinished = current.get("queued") or current.get("running")
        return not (unfinished or site.chaos.watch.pending()) and site.chaos.restarts_done()

    try:
        wait_until(ended, timeout=DRAIN_SECONDS, interval=0.5)
    except AssertionError as exc:
        tails = "\n".join(f"--- {api.name} ---\n{api.tail()}" for api in site.apis)
        raise AssertionError(
            f"{exc}; jobs by state: {seen}; orphans not released: {site.chaos.watch.pending()}; "
            f"restarts: {site.chaos.outages}\n"
            f"{tails}\n{site.workers.diagnostics()}"
        ) from None


def rows_of(reads: sa.Engine, query: sa.Select[Any]) -> list[sa.Row[Any]]:
    with reads.connect() as connection:
        return list(connection.execute(query).all())


def check_jobs(reads: sa.Engine, acknowledged: list[Acknowledged]) -> dict[str, int]:
    """Every job succeeded within its attempts, with its resource as the result; each
    was made by one Idempotency-Key; the figures."""
    rows = {row.id: row for row in rows_of(reads, sa.select(jobs))}
    failed = [
        (r.id, r.error_code, r.error_message) for r in rows.values() if r.state != "succeeded"
    ]
    assert not failed, f"{len(failed)} job(s) did not succeed: {failed[:10]}"
    for created in acknowledged:
        row = rows[created.job_id]
        field = "export_id" if created.artifact else "artifact_id"
        assert json.loads(row.result) == {field: created.resource_id}, row
        assert 1 <= row.attempts <= MAX_ATTEMPTS, row
        assert (row.worker_id, row.lease_expires_at) == (None, None), row
    made_by = Counter(
        row.job_id
        for row in rows_of(reads, sa.select(idempotency_keys.c.job_id))
        if row.job_id is not None
    )
    assert set(made_by) == set(rows), set(rows) ^ set(made_by)
    assert max(made_by.values()) == 1, made_by.most_common(3)
    attempts = Counter(row.attempts for row in rows.values())
    return {
        "jobs_in_database": len(rows),
        "jobs_run_more_than_once": sum(n for a, n in attempts.items() if a > 1),
        "most_attempts": max(attempts),
    }


def check_deliveries(reads: sa.Engine, receiver: Receiver, job_count: int) -> int:
    """One `job.completed` delivery per job, each delivered; how many the receiver got
    twice (delivery is at least once)."""

    def delivered() -> list[sa.Row[Any]] | None:
        rows = rows_of(reads, sa.select(webhook_deliveries))
        done = len(rows) >= job_count and all(row.state == "delivered" for row in rows)
        return rows if done else None

    try:
        rows = wait_until(delivered, timeout=60, interval=0.5)
    except AssertionError:
        rows = rows_of(reads, sa.select(webhook_deliveries))
        late = Counter(row.state for row in rows)
        raise AssertionError(f"{len(rows)} deliveries of {job_count} jobs: {late}") from None
    assert rows is not None
    per_job = Counter(row.job_id for row in rows)
    assert len(per_job) == job_count, (len(per_job), job_count)
    assert max(per_job.values()) == 1, f"a job ended twice: {per_job.most_common(3)}"
    assert {row.event_type for row in rows} == {"job.completed"}
    received = Counter(request.webhook_id for request in receiver.received())
    assert set(received) == {row.id for row in rows}
    return sum(n - 1 for n in received.values())


def check_resources(
    reads: sa.Engine, s3: SeaweedS3, bucket: str, acknowledged: list[Acknowledged]
) -> int:
    """Artifacts ready, exports completed with their file in the bucket; the objects that
    stale attempts left beside the recorded files (the retention purge takes them)."""
    ready = {r.id: r for r in rows_of(reads, sa.select(artifacts))}
    done = {r.id: r for r in rows_of(reads, sa.select(exports))}
    client = s3.client()
    try:
        stored = object_keys(client, bucket, "exports/")
    finally:
        client.close()
    for created in acknowledged:
        if created.artifact is None:
            row = ready[created.resource_id]
            assert (row.status, row.page_count) == ("ready", created.planned.pages), row
        else:
            row = done[created.resource_id]
            assert row.status == "completed", row
            assert row.file_key in stored, row
    recorded = {row.file_key for row in done.values()}
    return len(set(stored) - recorded)


def opened(fmt: str, data: bytes, title: str, pages: int) -> None:
    """The file opens with an independent reader, has its pages, and shows the title."""
    if fmt == "pdf":
        texts = pdf_pages(data)
    elif fmt == "pptx":
        texts = [f"{slide.title} {slide.text}" for slide in pptx_slides(data)]
    elif fmt == "html":
        texts = [page.text for page in html_pages(data.decode())]
    else:
        texts = [title] * len(png_pages(data))  # each a PNG Pillow reads
    assert len(texts) == pages, (fmt, len(texts), pages)
    assert title in texts[0], (fmt, title, texts[0])


def check_downloads(apis: list[ApiNode], keys: list[str], acknowledged: list[Acknowledged]) -> None:
    """Each export's signed link, taken from one node, downloads the same file from every
    node, and the file opens."""

    def check(created: Acknowledged) -> None:
        owner = created.planned.owner
        api = apis[created.planned.number % len(apis)]
        shown = httpx.get(
            f"{api.base_url}/v1/exports/{created.resource_id}",
            headers={"Authorization": f"Bearer {keys[owner]}"},
            timeout=30,
        )
        assert shown.status_code == 200, shown.text
        body = shown.json()
        assert_hosted_export(body, "completed", base_url=api.base_url)
        link = urlsplit(body["download_url"])
        files = set()
        for node in apis:
            response = httpx.get(f"{node.base_url}{link.path}?{link.query}", timeout=30)
            assert response.status_code == 200, (node.name, response.text)
            files.add(response.content)
        (data,) = files  # the same bytes from every node
        opened(body["format"], data, created.title, body["pages_exported"])

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(check, [a for a in acknowledged if a.artifact]))


def check_jobs_through_api(
    apis: list[ApiNode], keys: list[str], acknowledged: list[Acknowledged]
) -> None:
    """Both API nodes (their poll caches lived through the chaos) show every job completed."""
    clients = {
        (api.name, owner): httpx.Client(
            base_url=api.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
        )
        for api in apis
        for owner, key in enumerate(keys)
    }

    def check(created: Acknowledged) -> None:
        field = "export_id" if created.artifact else "artifact_id"
        for api in apis:
            job = clients[api.name, created.planned.owner].get(f"/v1/jobs/{created.job_id}")
            assert job.status_code == 200, job.text
            shown = (job.json()["status"], job.json()["result"])
            assert shown == ("completed", {field: created.resource_id}), (api.name, job.text)

    try:
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(check, acknowledged))
    finally:
        for client in clients.values():
            client.close()


def check_recovery(chaos: Chaos) -> None:
    """Some kill orphaned jobs, and every job a kill orphaned was released in time."""
    assert any(kill.held for kill in chaos.kills), f"no kill orphaned a job: {chaos.kills}"
    for kill in chaos.kills:
        assert set(kill.released) == set(kill.held), kill
        late = {
            job_id: (round(delay, 2), round(allowed, 2))
            for job_id, delay in kill.released.items()
            if delay > (allowed := chaos.allowed_delay(kill, job_id, SLACK_SECONDS))
        }
        assert not late, f"{kill.worker} (pid {kill.pid}): held past the bound: {late}"


def report(tmp_path: Path, figures: dict[str, Any]) -> None:
    text = json.dumps(figures, indent=2)
    print(f"\nchaos figures:\n{text}")
    (tmp_path / "chaos.json").write_text(text)
    if os.environ.get("CHAOS_REPORT"):
        Path(os.environ["CHAOS_REPORT"]).write_text(text)
