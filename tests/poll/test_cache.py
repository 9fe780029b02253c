"""The poll cache never serves a row older than the last notification about it."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc

import orjson

from nxdocs.ids import new_id
from nxdocs.jobs.model import ARTIFACT_CREATE, NewJob
from nxdocs.jobs.notify import RESYNC
from nxdocs.poll.cache import CachedJob, JobCache
from nxdocs.poll.public import JobRow, job_json
from nxdocs.system import System

OLD = CachedJob("user_a", b'{"status":"processing"}', processing=True)
NEW = CachedJob("user_a", b'{"status":"completed"}', processing=False)
ENTRIES = 5_000
# A body is about 250 bytes; with its id, the owner id and the entry itself an
# entry holds about 550. A body kept as orjson returns it would hold over 4 KiB.
MAX_BYTES_PER_ENTRY = 1024


def fresh(text: str) -> str:
    """An equal string of its own, as a request path or a driver would produce."""
    return text.encode().decode()


def live_cache(max_entries: int = 100) -> JobCache:
    return JobCache(is_live=lambda: True, max_entries=max_entries)


def test_read_then_put_then_get() -> None:
    cache = live_cache()
    cache.put("job_1", OLD, cache.token())
    assert cache.get("job_1") == OLD


def test_notification_evicts() -> None:
    cache = live_cache()
    cache.put("job_1", OLD, cache.token())
    cache.on_notification("job_1")
    assert cache.get("job_1") is None


def test_a_read_overtaken_by_a_change_is_not_cached() -> None:
    cache = live_cache()
    token = cache.token()  # a reader starts and reads the old row...
    cache.on_notification("job_1")  # ...the change commits and is announced...
    cache.put("job_1", OLD, token)  # ...and the stale row must not stick
    assert cache.get("job_1") is None
    cache.put("job_1", NEW, cache.token())
    assert cache.get("job_1") == NEW


def test_changes_to_other_jobs_do_not_block_caching() -> None:
    cache = live_cache()
    token = cache.token()
    cache.on_notification("job_2")
    cache.put("job_1", OLD, token)
    assert cache.get("job_1") == OLD


def test_forgotten_invalidations_are_covered_by_the_floor() -> None:
    cache = live_cache(max_entries=2)
    token = cache.token()
    for n in range(5):  # job_0's invalidation falls out of the bounded window
        cache.on_notification(f"job_{n}")
    cache.put("job_0", OLD, token)
    assert cache.get("job_0") is None


def test_resync_clears_everything_and_rejects_reads_in_flight() -> None:
    cache = live_cache()
    cache.put("job_1", OLD, cache.token())
    token = cache.token()
    cache.on_notification(RESYNC)
    assert cache.get("job_1") is None
    cache.put("job_2", OLD, token)
    assert cache.get("job_2") is None


def test_new_job_wake_ups_change_nothing() -> None:
    cache = live_cache()
    token = cache.token()
    cache.on_notification(None)
    cache.put("job_1", OLD, token)
    assert cache.get("job_1") == OLD


def test_nothing_is_served_while_notifications_are_not_arriving() -> None:
    live = [True]
    cache = JobCache(is_live=lambda: live[0])
    cache.put("job_1", OLD, cache.token())
    live[0] = False
    assert cache.get("job_1") is None
    cache.put("job_2", OLD, cache.token())
    live[0] = True
    assert cache.get("job_2") is None


def test_size_is_bounded() -> None:
    cache = live_cache(max_entries=3)
    for n in range(10):
        cache.put(f"job_{n}", OLD, cache.token())
    assert [cache.get(f"job_{n}") is not None for n in range(10)].count(True) == 3


def test_entries_and_bytes_follow_puts_and_invalidations() -> None:
    cache = live_cache()
    assert (cache.entries, cache.size_bytes) == (0, 0)
    cache.put("job_1", OLD, cache.token())
    cache.put("job_2", NEW, cache.token())
    assert cache.entries == 2
    two = cache.size_bytes
    assert two > len(OLD.body) + len(NEW.body)
    cache.on_notification("job_1")
    assert cache.entries == 1
    assert 0 < cache.size_bytes < two
    cache.put("job_2", NEW, cache.token())  # a second put of a cached job counts once
    assert cache.entries == 1
    cache.on_notification(RESYNC)
    assert (cache.entries, cache.size_bytes) == (0, 0)


def test_byte_bound_evicts_oldest() -> None:
    probe = live_cache()
    probe.put("job_0", OLD, probe.token())
    entry_bytes = probe.size_bytes
    cache = JobCache(is_live=lambda: True, max_entries=1000, max_bytes=3 * entry_bytes)
    for n in range(10):
        cache.put(f"job_{n}", OLD, cache.token())
        assert cache.size_bytes <= 3 * entry_bytes
    assert cache.entries == 3
    assert [n for n in range(10) if cache.get(f"job_{n}") is not None] == [7, 8, 9]


def test_an_entry_larger_than_the_bound_is_not_cached() -> None:
    cache = JobCache(is_live=lambda: True, max_bytes=100)
    cache.put("job_1", OLD, cache.token())
    assert cache.get("job_1") is None
    assert (cache.entries, cache.size_bytes) == (0, 0)


def test_cached_bodies_hold_only_their_own_bytes() -> None:
    """orjson hands back bodies that keep a 4 KiB buffer; the cache keeps exact copies."""
    rows = [
        JobRow(
            new_id("job"),
            "artifact.create",
            "succeeded",
            orjson.dumps({"artifact_id": new_id("doc")}).decode(),
            None,
            None,
            3,
            3,
            1_767_225_600_000,
            1_767_225_601_000,
        )
        for _ in range(ENTRIES)
    ]
    cache = JobCache(is_live=lambda: True, max_entries=ENTRIES)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for row in rows:
            body, processing = job_json(row)  # as the poll route reads one, after a miss
            cache.put(fresh(row.id), CachedJob(fresh("user_memory"), body, processing), 0)
        del body
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert cache.entries == ENTRIES
    body_size = len(job_json(rows[0])[0])
    assert 200 < body_size < 400
    assert used / ENTRIES < MAX_BYTES_PER_ENTRY, f"{used / ENTRIES:.0f} B per {body_size} B body"
    assert cache.size_bytes >= used  # what the bound counts is never less than what is held


def test_rows_read_from_the_database_are_cached_compactly(system: System) -> None:
    """The same through the real reader of each database: no driver buffer stays behind."""
    owner_id = system.keys.create("memory").owner_id
    system.store.max_active_per_owner = 0  # one owner's thousands of jobs
    job_ids = [new_id("job") for _ in range(ENTRIES)]
    with system.engine.begin() as connection:
        for job_id in job_ids:
            job = NewJob(job_id, owner_id, ARTIFACT_CREATE, {"prompt": "Quarterly review"})
            system.store.enqueue(connection, job, max_attempts=3)
    reader, _ = system.poll_path()
    cache = JobCache(is_live=lambda: True, max_entries=ENTRIES)

    async def fill() -> int:
        await reader.open()
        try:
            await reader.read(job_ids[0])  # the pool and the prepared statement exist before
            gc.collect()
            tracemalloc.start()
            before = tracemalloc.get_traced_memory()[0]
            for job_id in job_ids:
                found = await reader.read(job_id)
                assert found is not None
                body, processing = job_json(found[1])
                cache.put(fresh(job_id), CachedJob(found[0], body, processing), 0)
            del found, body
            gc.collect()
            return tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
            await reader.close()

    used = asyncio.run(fill())
    assert cache.entries == ENTRIES
    assert used / ENTRIES < MAX_BYTES_PER_ENTRY, f"{used / ENTRIES:.0f} B per entry"
