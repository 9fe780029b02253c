"""The data of the scale benchmark (`bench.scale`): 1,000 owners with a key each,
and any number of finished jobs between them, written fast.

The jobs are Zipf-distributed over the owners (owner k has a share in
proportion to 1/k: the first holds 13% of them), created in order over the
last 28 days (inside the 30 days finished jobs are kept, so no purge runs
during the benchmark), 90% succeeded, 8% failed, 2% cancelled; four in five
are `artifact.create` with their artifact row, the rest `export.run` with
their export row. Rows go in with COPY (PostgreSQL) or executemany (SQLite),
in big transactions, followed by VACUUM ANALYZE / ANALYZE: the planner's
statistics then describe a table of finished jobs and nothing queued, as they
do on a busy server between two autoanalyze runs.
"""

from __future__ import annotations

import itertools
import os
import random
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

import orjson
import psycopg

from bench.common import libpq_url
from nxdocs.db.schema import artifacts, exports, jobs
from nxdocs.ids import id_time_ms, is_id
from nxdocs.jobs.model import ARTIFACT_CREATE, EXPORT_RUN
from nxdocs.settings import Settings
from nxdocs.system import build_system

OWNERS = 1000
DAYS = 28
CHUNK = 50_000
DAY_MS = 86_400_000

# --- rows ------------------------------------------------------------------------

Row = dict[str, object]
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
_REQUEST = orjson.dumps(
    {
        "type": "presentation",
        "prompt": None,
        "content": "# Quarterly review\n\n- Revenue up 12%\n- Two new regions\n\n"
        "# Next quarter\n\n- Hire three engineers\n- Ship the export API",
        "name": None,
        "page_count": None,
        "ai_instruction": None,
        "variations": 1,
        "variation": 1,
    }
).decode()
_FAILED = ("RENDER_FAILED", "The document could not be rendered: a page is larger than allowed.")


def fast_id(prefix: str, at_ms: int, rng: random.Random) -> str:
    """An id of `new_id`'s shape (time, then 16 random characters), 6x faster:
    `new_id` draws each character from `secrets` (31 us an id here), which would
    make 2 million ids take a minute. Checked against `id_time_ms` as used."""
    digits = []
    for _ in range(9):
        at_ms, digit = divmod(at_ms, 36)
        digits.append(_DIGITS[digit])
    return f"{prefix}_{''.join(reversed(digits))}{''.join(rng.choices(_DIGITS, k=16))}"


TABLES = {table.name: list(table.c.keys()) for table in (jobs, artifacts, exports)}
"""The tables written, each with all its columns: every row is a dict of every
column (one the schema adds and this does not fill is a KeyError)."""


def chunks(
    owner_ids: Sequence[str], count: int, end_ms: int, seed: int
) -> Iterator[dict[str, list[Row]]]:
    """`count` finished jobs and their artifacts or exports, oldest first, in chunks."""
    rng = random.Random(seed)
    weights = list(itertools.accumulate(1 / (rank + 1) for rank in range(len(owner_ids))))
    span = DAYS * DAY_MS
    step = span / count
    for start in range(0, count, CHUNK):
        size = min(CHUNK, count - start)
        chunk: dict[str, list[Row]] = {name: [] for name in TABLES}
        owners = rng.choices(owner_ids, cum_weights=weights, k=size)
        for index, owner in zip(range(start, start + size), owners, strict=True):
            created = end_ms - span + int(index * step + rng.random() * step)
            job, resource = _finished_job(rng, owner, created)
            chunk["jobs"].append(job)
            chunk["artifacts" if job["type"] == ARTIFACT_CREATE else "exports"].append(resource)
        first = chunk["jobs"][0]
        assert is_id(str(first["id"]), "job")
        assert id_time_ms(str(first["id"])) == first["created_at"]
        yield chunk


def _finished_job(rng: random.Random, owner: str, created: int) -> tuple[Row, Row]:
    """A finished job, and the artifact or export it made."""
    draw = rng.random()
    state = "succeeded" if draw < 0.90 else "failed" if draw < 0.98 else "cancelled"
    code, message = None, None
    if state == "failed":
        code, message = _FAILED
    elif state == "cancelled":
        code, message = "CANCELLED", f"The job was cancelled by {owner} at 2025-01-01T00:00:00Z."
    job: Row = {
        "id": fast_id("job", created, rng),
        "owner_id": owner,
        "state": state,
        "error_code": code,
        "error_message": message,
        "attempts": 3 if state == "failed" else 1,
        "max_attempts": 5,
        "releases": 0,
        "run_at": created,
        "lease_expires_at": None,
        "worker_id": None,
        "run_id": f"{rng.getrandbits(48):012x}",
        "created_at": created,
        "updated_at": created + rng.randint(1_500, 60_000),
    }
    made = _artifact if rng.random() < 0.8 else _export
    resource = made(rng, job)
    for column in ("owner_id", "error_code", "error_message", "created_at", "updated_at"):
        resource[column] = job[column]
    return job, resource


def _artifact(rng: random.Random, job: Row) -> Row:
    artifact_id = fast_id("doc", int(str(job["created_at"])), rng)
    pages = rng.randint(3, 20)
    done = job["state"] == "succeeded"
    payload = orjson.dumps({"artifact_id": artifact_id}).decode()
    job.update(
        type=ARTIFACT_CREATE,
        payload=payload,
        result=payload if done else None,
        progress_done=pages,
        progress_total=pages,
    )
    return {
        "id": artifact_id,
        "job_id": job["id"],
        "name": "Quarterly review",
        "type": "presentation",
        "status": "ready" if done else "failed",
        "page_count": pages if done else None,
        "brand_id": None,
        "theme_id": None,
        "request": _REQUEST,
        # The page model (KBs) is left out: nothing measured here reads it, and
        # a million of them would make the fill take far longer.
        "document": None,
        "generation": None,
        "variation_of": None,
        "variation": None,
    }


def _export(rng: random.Random, job: Row) -> Row:
    created = int(str(job["created_at"]))
    export_id = fast_id("exp", created, rng)
    done = job["state"] == "succeeded"
    payload = orjson.dumps({"export_id": export_id}).decode()
    job.update(
        type=EXPORT_RUN,
        payload=payload,
        result=payload if done else None,
        progress_done=None,
        progress_total=None,
    )
    return {
        "id": export_id,
        "artifact_id": fast_id("doc", created - 60_000, rng),
        "job_id": job["id"],
        "format": "pdf",
        "status": "completed" if done else "failed",
        "pages": None,
        "pages_exported": 12 if done else None,
        "content_type": "application/pdf" if done else None,
        "file_name": "Quarterly review.pdf" if done else None,
        "file_key": f"exports/{export_id}.pdf" if done else None,
        "file_size": rng.randint(30_000, 400_000) if done else None,
        "completed_at": job["updated_at"] if done else None,
    }


# --- filling a database ------------------------------------------------------------


@dataclass
class Dataset:
    label: str
    rows: int
    url: str
    keys: list[str]  # one per owner, in owner order (the first owner holds the most jobs)
    owner_ids: list[str]
    first_owner_jobs: list[str] = field(default_factory=list)  # oldest first
    fill_s: float = 0.0
    size_mb: float = 0.0
    figures: dict[str, list[float]] = field(default_factory=dict)


def prepare(label: str, rows: int, url: str, seed: int) -> Dataset:
    """Migrate, make the owners and their keys, write the jobs."""
    system = build_system(Settings(database_url=url))
    try:
        created = [system.keys.create(f"bench{index}", new_owner=True) for index in range(OWNERS)]
    finally:
        system.close()
    dataset = Dataset(label, rows, url, [k.secret for k in created], [k.owner_id for k in created])
    started = time.perf_counter()
    write = _postgres_writer if url.startswith("postgresql") else _sqlite_writer
    first = dataset.owner_ids[0]
    end_ms = time.time_ns() // 1_000_000 - 3_600_000
    with write(url) as put:
        for chunk in chunks(dataset.owner_ids, rows, end_ms, seed):
            for table, rows_of_table in chunk.items():
                put(table, [tuple(row[c] for c in TABLES[table]) for row in rows_of_table])
            dataset.first_owner_jobs += [
                str(j["id"]) for j in chunk["jobs"] if j["owner_id"] == first
            ]
    dataset.fill_s = time.perf_counter() - started
    dataset.size_mb = _size_mb(url)
    print(
        f"  {label}: {rows} jobs written and analysed in {dataset.fill_s:.1f} s, "
        f"database {dataset.size_mb:.0f} MB, first owner {len(dataset.first_owner_jobs)} jobs",
        flush=True,
    )
    return dataset


Put = Callable[[str, list[tuple[object, ...]]], None]
"""Writes rows, in `TABLES` column order, into a table."""


@contextmanager
def _postgres_writer(url: str) -> Iterator[Put]:
    """COPY into each table, one transaction for all; VACUUM ANALYZE after."""
    conninfo = libpq_url(url)
    with psycopg.connect(conninfo) as connection:

        def put(table: str, rows: list[tuple[object, ...]]) -> None:
            statement = f"COPY {table} ({', '.join(TABLES[table])}) FROM STDIN"
            with connection.cursor().copy(statement) as copy:
                for row in rows:
                    copy.write_row(row)

        yield put  # committed as the block ends
    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")


@contextmanager
def _sqlite_writer(url: str) -> Iterator[Put]:
    """executemany, one transaction per table and chunk; ANALYZE after."""
    connection = sqlite3.connect(url.removeprefix("sqlite:///"))
    try:

        def put(table: str, rows: list[tuple[object, ...]]) -> None:
            columns = TABLES[table]
            marks = ", ".join("?" * len(columns))
            with connection:
                connection.executemany(
                    f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
                )

        yield put
        connection.execute("ANALYZE")
    finally:
        connection.close()


def _size_mb(url: str) -> float:
    if url.startswith("sqlite"):
        return os.path.getsize(url.removeprefix("sqlite:///")) / 1e6
    with psycopg.connect(libpq_url(url)) as connection:
        row = connection.execute("SELECT pg_database_size(current_database())").fetchone()
    return float(row[0]) / 1e6 if row else 0.0
