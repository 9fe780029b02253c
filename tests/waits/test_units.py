"""The pure parts of waiting: the `wait` parameter, the wait slots, and `JobChanges`
woken through the real in-process notifier (`Fanout`)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from nxdocs.api.errors import ValidationFailedError
from nxdocs.api.jobs import MAX_WAIT_SECONDS, wait_seconds
from nxdocs.jobs.notify import RESYNC, Fanout
from nxdocs.poll.changes import JobChanges, JobWatch
from nxdocs.poll.wait_slots import TooManyWaitsError, WaitSlots

# A wake that should come at once gets this long; a lost one makes the test fail
# after it, never pass.
WAKE_DEADLINE = 5.0

# -- wait_seconds --------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "seconds"),
    [
        (b"", 0.0),
        (b"wait=0", 0.0),
        (b"wait=0.000", 0.0),
        (b"wait=1", 1.0),
        (b"wait=05", 5.0),
        (b"wait=0.5", 0.5),
        (b"wait=0.001", 0.001),
        (b"wait=59.999", 59.999),
        (b"wait=60", 60.0),
        (b"wait=60.000", 60.0),
        (b"wait=%32%30", 20.0),  # percent-encoded digits are digits
        # Other parameters are ignored, whatever their bytes.
        (b"other=1", 0.0),
        (b"a=%ff%fe&wait=7&b", 7.0),
        (b"\xff\xfe=\x00&wait=3", 3.0),
        (b"x=%00&&&wait=2.5&y=%", 2.5),
        (b"waiting=9&wait_=9&Wait=9", 0.0),  # only `wait` itself counts
    ],
)
def test_valid_waits(query: bytes, seconds: float) -> None:
    assert wait_seconds(query) == seconds


@pytest.mark.parametrize(
    "query",
    [
        b"wait=61",
        b"wait=60.001",
        b"wait=60.5",
        b"wait=100",
        b"wait=-1",
        b"wait=-0",
        b"wait=1e3",
        b"wait=1E1",
        b"wait=nan",
        b"wait=NaN",
        b"wait=inf",
        b"wait=abc",
        b"wait=",
        b"wait",
        b"wait=1&wait=1",
        b"wait=1&wait=2",
        b"wait=+5",
        b"wait=%205",
        b"wait=5%20",
        b"wait=1.",
        b"wait=.5",
        b"wait=1.2345",
        b"wait=0x10",
        b"wait=1_0",  # float() takes it
        b"wait=%D9%A3",  # ARABIC-INDIC DIGIT THREE: float() takes it too
        b"wait=%00",
        b"wait=%ff",
        b"wait=5;x=1",
    ],
)
def test_invalid_waits_name_the_parameter(query: bytes) -> None:
    with pytest.raises(ValidationFailedError) as raised:
        wait_seconds(query)
    body = raised.value.body()
    assert body["error"]["code"] == "VALIDATION_ERROR"
    (detail,) = body["error"]["details"]
    assert detail["field"] == "wait"
    assert str(MAX_WAIT_SECONDS) in detail["message"]


# -- WaitSlots -----------------------------------------------------------------


def test_slots_are_capped_per_owner() -> None:
    slots = WaitSlots(max_total=10, max_per_owner=2)
    first, second = slots.take("user_a"), slots.take("user_a")
    with pytest.raises(TooManyWaitsError):
        slots.take("user_a")
    other = slots.take("user_b")  # another owner's cap is their own
    assert slots.in_use == 3
    first.release()
    third = slots.take("user_a")  # a released slot is free again
    for slot in (second, third, other):
        slot.release()
    assert slots.in_use == 0


def test_slots_are_capped_per_process() -> None:
    slots = WaitSlots(max_total=3, max_per_owner=2)
    held = [slots.take("user_a"), slots.take("user_a"), slots.take("user_b")]
    for owner in ("user_b", "user_c"):
        with pytest.raises(TooManyWaitsError):
            slots.take(owner)
    held.pop().release()
    held.append(slots.take("user_c"))
    assert slots.in_use == 3


def test_release_is_idempotent_and_a_with_block_releases() -> None:
    slots = WaitSlots(max_total=5, max_per_owner=1)
    slot = slots.take("user_a")
    slot.release()
    slot.release()  # a second way of ending the same wait gives nothing back twice
    assert slots.in_use == 0
    other = slots.take("user_b")
    with slots.take("user_a"):
        assert slots.in_use == 2
    assert slots.in_use == 1
    with pytest.raises(RuntimeError), slots.take("user_a"):
        raise RuntimeError("the wait failed")
    assert slots.in_use == 1
    other.release()
    with slots.take("user_a") as again:
        again.release()  # released inside the block, then again on leaving it
    assert slots.in_use == 0
    assert slots.take("user_a") is not None  # and the owner's count went back to 0


def test_slots_hold_their_caps_under_threads() -> None:
    max_total, max_per_owner = 6, 2
    slots = WaitSlots(max_total, max_per_owner)
    owners = [f"user_{n}" for n in range(4)]
    lock = threading.Lock()
    holding = dict.fromkeys(owners, 0)
    worst_total, worst_owner, refused = 0, 0, 0

    def churn(owner: str) -> None:
        nonlocal worst_total, worst_owner, refused
        for _ in range(2_000):
            try:
                slot = slots.take(owner)
            except TooManyWaitsError:
                with lock:
                    refused += 1
                continue
            with lock:
                holding[owner] += 1
                worst_owner = max(worst_owner, holding[owner])
                worst_total = max(worst_total, sum(holding.values()))
            with lock:
                holding[owner] -= 1
            slot.release()

    threads = [threading.Thread(target=churn, args=(owner,)) for owner in owners for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert slots.in_use == 0
    assert worst_owner <= max_per_owner
    assert worst_total <= max_total
    # Every owner can take all of its slots again: no count was lost or left behind.
    held = [slots.take(owner) for owner in owners[:3] for _ in range(max_per_owner)]
    assert slots.in_use == max_total
    for slot in held:
        slot.release()


# -- JobChanges ----------------------------------------------------------------


def changes_on_fanout() -> tuple[Fanout, JobChanges]:
    """`JobChanges` subscribed to the real in-process notifier's fan-out."""
    fanout = Fanout()
    return fanout, JobChanges(fanout.subscribe)


def publish_from_thread(fanout: Fanout, *job_ids: str | None) -> None:
    """Publish as the notifier does: from a thread of its own, in order."""

    def publish() -> None:
        for job_id in job_ids:
            fanout.publish(job_id)

    thread = threading.Thread(target=publish)
    thread.start()
    thread.join()


async def settled(fanout: Fanout, changes: JobChanges) -> None:
    """Every wake published so far has reached its event: wakes are delivered in
    order, so once a marker published after them has arrived, they have too."""
    with changes.watch("job_marker") as marker:
        publish_from_thread(fanout, "job_marker")
        assert await marker.changed(WAKE_DEADLINE)


def test_a_change_wakes_the_watch_of_its_job() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        with changes.watch("job_a") as watch:
            assert changes.waiting == 1
            waiting = asyncio.ensure_future(watch.changed(WAKE_DEADLINE))
            await asyncio.sleep(0)  # it is inside its wait now
            publish_from_thread(fanout, "job_a")
            assert await waiting
        assert changes.waiting == 0

    asyncio.run(scenario())


def test_a_change_between_registration_and_the_wait_is_not_lost() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        with changes.watch("job_a") as watch:
            # Registered, then (before anything waits) the change is announced and
            # delivered: the next wait must end at once.
            publish_from_thread(fanout, "job_a")
            await settled(fanout, changes)
            assert await watch.changed(WAKE_DEADLINE)
            # The wake was used up: no change since, so the next wait times out.
            assert not await watch.changed(0)

    asyncio.run(scenario())


def test_resync_wakes_every_watch() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        with (
            changes.watch("job_a") as a,
            changes.watch("job_b") as b,
            changes.watch("job_b") as b_again,
        ):
            publish_from_thread(fanout, RESYNC)
            for watch in (a, b, b_again):
                assert await watch.changed(WAKE_DEADLINE)

    asyncio.run(scenario())


def test_a_change_of_another_job_or_new_jobs_wake_nobody() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        with changes.watch("job_a") as a, changes.watch("job_b") as b:
            publish_from_thread(fanout, "job_c", None, "job_b")
            await settled(fanout, changes)
            assert not await a.changed(0)
            assert await b.changed(0)  # the one named was woken, before the marker

    asyncio.run(scenario())


def test_with_versions_a_resync_wakes_only_the_jobs_that_changed() -> None:
    """SQLite: a RESYNC reads the watched jobs' versions and wakes the waiters of
    those that changed since the last look, are seen for the first time, or are gone."""
    rows: dict[str, object] = {"job_a": 1, "job_b": 1, "job_c": 1}

    async def scenario() -> None:
        fanout = Fanout()
        changes = JobChanges(fanout.subscribe, lambda ids: {i: rows[i] for i in ids if i in rows})
        with (
            changes.watch("job_a") as a,
            changes.watch("job_b") as b,
            changes.watch("job_c") as c,
        ):
            publish_from_thread(fanout, RESYNC)  # the first look: all are new
            await settled(fanout, changes)
            assert all([await a.changed(0), await b.changed(0), await c.changed(0)])
            rows["job_b"] = 2
            del rows["job_c"]
            publish_from_thread(fanout, RESYNC)
            await settled(fanout, changes)
            assert not await a.changed(0)
            assert await b.changed(0)
            assert await c.changed(0)
            publish_from_thread(fanout, RESYNC)  # nothing changed since
            await settled(fanout, changes)
            assert not any([await a.changed(0), await b.changed(0), await c.changed(0)])

    asyncio.run(scenario())


def test_versions_that_cannot_be_read_wake_every_watch() -> None:
    def broken(_ids: list[str]) -> dict[str, object]:
        raise OSError("database is locked")

    async def scenario() -> None:
        fanout = Fanout()
        changes = JobChanges(fanout.subscribe, broken)
        with changes.watch("job_a") as a, changes.watch("job_b") as b:
            publish_from_thread(fanout, RESYNC)
            assert await a.changed(WAKE_DEADLINE)
            assert await b.changed(WAKE_DEADLINE)

    asyncio.run(scenario())


def test_every_watch_of_one_job_is_woken() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        with changes.watch("job_a") as first, changes.watch("job_a") as second:
            assert changes.waiting == 2
            publish_from_thread(fanout, "job_a")
            assert await first.changed(WAKE_DEADLINE)
            assert await second.changed(WAKE_DEADLINE)
        assert changes.waiting == 0

    asyncio.run(scenario())


def test_a_watch_ended_is_not_woken_and_others_still_are() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        with changes.watch("job_a") as kept:
            with changes.watch("job_a"):
                pass
            assert changes.waiting == 1
            publish_from_thread(fanout, "job_a")
            assert await kept.changed(WAKE_DEADLINE)

    asyncio.run(scenario())


def test_a_watch_of_a_closed_event_loop_does_not_stop_the_others() -> None:
    fanout, changes = changes_on_fanout()

    async def abandon() -> JobWatch:
        # Entered and never exited: its loop closes with it still registered.
        return changes.watch("job_a").__enter__()

    asyncio.run(abandon())

    async def scenario() -> None:
        with changes.watch("job_a") as live:
            publish_from_thread(fanout, "job_a")
            assert await live.changed(WAKE_DEADLINE)

    asyncio.run(scenario())


def test_unsubscribed_changes_hear_nothing() -> None:
    async def scenario() -> None:
        fanout, changes = changes_on_fanout()
        changes.unsubscribe()
        with changes.watch("job_a") as watch:
            publish_from_thread(fanout, "job_a", RESYNC)
            other = JobChanges(fanout.subscribe)  # a marker on a subscribed one
            await settled(fanout, other)
            assert not await watch.changed(0)

    asyncio.run(scenario())


def test_a_wake_by_hand_ends_the_wait() -> None:
    async def scenario() -> None:
        _, changes = changes_on_fanout()
        with changes.watch("job_a") as watch:
            waiting = asyncio.ensure_future(watch.changed(WAKE_DEADLINE))
            await asyncio.sleep(0)
            watch.wake()
            assert await waiting

    asyncio.run(scenario())
