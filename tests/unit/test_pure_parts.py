"""Unit tests of the pure parts, with time stepped by hand: no threads, no waiting.

The retry policy, the per-owner rate limiter, the key cache, the link signer,
and the executor's mapping of what a handler raises to the job's outcome.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pytest

from nxdocs.auth.cache import KeyCache
from nxdocs.auth.keys import generate_key
from nxdocs.auth.rate_limiter import RateLimiter
from nxdocs.jobs.errors import JobError, LeaseLostError, RetryableJobError, SnoozeJob
from nxdocs.jobs.execute import (
    INTERNAL_ERROR,
    LEASE_LOST,
    Executor,
    Failed,
    RunningJob,
    Snoozed,
    Succeeded,
)
from nxdocs.jobs.handlers import HandlerRegistry, JobContext
from nxdocs.jobs.model import ARTIFACT_CREATE, ClaimedJob, ErrorInfo
from nxdocs.jobs.retry import GiveUp, RetryIn, RetryPolicy
from nxdocs.storage.signing import LinkSigner


class Stepped:
    """A monotonic clock moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# -- RetryPolicy --------------------------------------------------------------


def test_retry_delays_are_jittered_under_a_doubling_cap() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=5.0)
    rng = random.Random(1)
    for attempt, bound_ms in [(1, 1000), (2, 2000), (3, 4000), (4, 5000), (9, 5000)]:
        delays = [policy.decide(attempt=attempt, max_attempts=10, rng=rng) for _ in range(200)]
        assert all(isinstance(delay, RetryIn) for delay in delays)
        values = [delay.delay_ms for delay in delays if isinstance(delay, RetryIn)]
        assert min(values) >= 0
        assert max(values) <= bound_ms
        assert max(values) > bound_ms / 2  # full jitter reaches the bound's upper half


def test_retry_gives_up_on_the_last_attempt() -> None:
    policy = RetryPolicy(base_seconds=1.0, max_seconds=5.0)
    assert policy.decide(attempt=3, max_attempts=3, rng=random.Random(1)) == GiveUp()
    assert isinstance(policy.decide(attempt=2, max_attempts=3, rng=random.Random(1)), RetryIn)


# -- RateLimiter --------------------------------------------------------------


def test_the_rate_limiter_allows_a_burst_then_the_rate() -> None:
    clock = Stepped()
    limiter = RateLimiter(per_second=2.0, burst=3, monotonic=clock)
    assert [limiter.retry_after("alice") for _ in range(3)] == [0, 0, 0]
    assert limiter.retry_after("alice") == 1
    assert limiter.retry_after("bob") == 0  # owners do not share a bucket
    clock.now += 0.5  # one token back at 2 per second
    assert limiter.retry_after("alice") == 0
    assert limiter.retry_after("alice") == 1
    clock.now += 60  # refilled up to the burst, no further
    assert [limiter.retry_after("alice") for _ in range(4)] == [0, 0, 0, 1]


def test_retry_after_is_the_wait_for_one_token_rounded_up() -> None:
    clock = Stepped()
    limiter = RateLimiter(per_second=0.1, burst=1, monotonic=clock)
    assert limiter.retry_after("alice") == 0
    assert limiter.retry_after("alice") == 10
    clock.now += 4
    assert limiter.retry_after("alice") == 6


# -- KeyCache -----------------------------------------------------------------


def test_the_key_cache_remembers_answers_for_its_ttl() -> None:
    clock = Stepped()
    lookups: list[str] = []
    owners = {}
    key = generate_key()
    owners[key] = "user_1"

    def lookup(given: str) -> str | None:
        lookups.append(given)
        return owners.get(given)

    cache = KeyCache(lookup, ttl_seconds=5, monotonic=clock)
    assert cache.cached(key) == (False, None)
    assert cache.load(key) == "user_1"
    assert cache.cached(key) == (True, "user_1")
    del owners[key]  # revoked: still answered from the cache until the TTL ends
    clock.now += 4.9
    assert cache.cached(key) == (True, "user_1")
    clock.now += 0.2
    assert cache.cached(key) == (False, None)
    assert cache.load(key) is None
    assert cache.cached(key) == (True, None)  # unknown keys are cached too
    assert lookups == [key, key]


def test_a_malformed_key_is_refused_without_a_lookup() -> None:
    cache = KeyCache(lambda _key: pytest.fail("no lookup for a malformed key"), 5)
    assert cache.cached("nxd_short") == (True, None)
    assert cache.cached("Bearer nonsense") == (True, None)


# -- LinkSigner ---------------------------------------------------------------


def test_links_are_signed_and_any_change_breaks_them() -> None:
    signer = LinkSigner(b"k" * 32, "https://files.example.org/")
    link = signer.link("exp_1", "My deck.pdf", 1_800_000_000_000)
    assert link.url.startswith("https://files.example.org/v1/files/exp_1/My%20deck.pdf?")
    query = dict(part.split("=") for part in link.url.split("?")[1].split("&"))
    assert query["expires"] == "1800000000000"
    assert signer.valid("exp_1", query["expires"], query["signature"])
    assert not signer.valid("exp_2", query["expires"], query["signature"])
    assert not signer.valid("exp_1", "1800000000001", query["signature"])
    assert not signer.valid("exp_1", query["expires"], query["signature"][:-1] + "0")
    other = LinkSigner(b"o" * 32, "https://files.example.org")
    assert not other.valid("exp_1", query["expires"], query["signature"])


# -- the executor's mapping of exceptions to outcomes -------------------------


class Raising:
    type = ARTIFACT_CREATE

    def __init__(self, outcome: BaseException | dict[str, Any]) -> None:
        self.outcome = outcome

    def run(self, job: ClaimedJob, context: JobContext) -> dict[str, Any]:
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome

    def on_succeeded(self, *args: Any) -> None:
        pass

    def on_failed(self, *args: Any) -> None:
        pass


def outcome_of(raised: BaseException | dict[str, Any], *, lease_lapsed: bool = False) -> Any:
    registry = HandlerRegistry()
    registry.register(Raising(raised))
    job = ClaimedJob("job_1", "user_1", ARTIFACT_CREATE, {}, 1, 3, "run1")
    claimed_at = time.monotonic() - (100 if lease_lapsed else 0)
    # The store is never reached: the mapping happens before anything is written.
    running = RunningJob(job, "w1", None, 30.0, 600.0, claimed_at)  # type: ignore[arg-type]
    executor = Executor(None, registry, RetryPolicy(1, 5), "w1", random.Random(1), 5.0)  # type: ignore[arg-type]
    return executor._run(running)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        ({"artifact_id": "doc_1"}, Succeeded({"artifact_id": "doc_1"})),
        (
            JobError("GENERATION_FAILED", "bad input"),
            Failed(ErrorInfo("GENERATION_FAILED", "bad input"), retryable=False),
        ),
        (
            RetryableJobError("UPSTREAM_TIMEOUT", "slow"),
            Failed(ErrorInfo("UPSTREAM_TIMEOUT", "slow"), retryable=True),
        ),
        (SnoozeJob(1.5), Snoozed(1500)),
        (LeaseLostError(), Failed(LEASE_LOST, retryable=True)),
        (ValueError("secret detail"), Failed(INTERNAL_ERROR, retryable=True)),
    ],
)
def test_what_a_handler_raises_becomes_the_outcome(
    raised: BaseException | dict[str, Any], expected: Any
) -> None:
    assert outcome_of(raised) == expected


def test_a_lapsed_lease_stops_the_attempt_before_the_handler_runs() -> None:
    assert outcome_of({"artifact_id": "doc_1"}, lease_lapsed=True) == Failed(
        LEASE_LOST, retryable=True
    )
