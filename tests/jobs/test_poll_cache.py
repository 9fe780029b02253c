"""The poll cache never serves a row older than the last notification about it."""

from __future__ import annotations

from nxdocs.jobs.notify import RESYNC
from nxdocs.jobs.poll_cache import CachedJob, JobCache

OLD = CachedJob("user_a", b'{"status":"processing"}', processing=True)
NEW = CachedJob("user_a", b'{"status":"completed"}', processing=False)


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
