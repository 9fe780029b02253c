"""The dashboard's pure parts: CSRF tokens, the sign-in limit, the charts, the filters."""

from __future__ import annotations

import anyio
import pytest

from nxdocs.auth.rate_limiter import RateLimiter
from nxdocs.dashboard.activity import BUCKET_MS, BUCKETS, activity
from nxdocs.dashboard.charts import bar_chart, line_chart, nice_ceiling
from nxdocs.dashboard.filters import JobQuery
from nxdocs.dashboard.previews import MAX_WAITING, PagePreviews, PreviewsBusyError
from nxdocs.dashboard.sessions import SignInTokens, csrf_matches
from nxdocs.dashboard.sign_in import SIGN_IN_BURST, SIGN_IN_PER_SECOND, client_bucket
from nxdocs.dashboard.templates import duration
from nxdocs.jobs.model import JobState
from nxdocs.render import ImageBudget


def test_sign_in_tokens_match_only_their_own_cookie() -> None:
    tokens = SignInTokens(b"secret")
    token, other = tokens.issue(), tokens.issue()

    assert tokens.matches(token, token)
    assert not tokens.matches(token, other)
    assert not tokens.matches(None, token)
    assert not tokens.matches(token, "")
    forged = f"{'0' * 32}.{'0' * 64}"
    assert not tokens.matches(forged, forged)
    assert not SignInTokens(b"another").matches(token, token)
    for changed in (token.upper(), token + ".", token.replace(".", "\x00"), "x" * 10_000):
        assert not tokens.matches(changed, changed)


def test_a_form_must_send_its_sessions_own_csrf_token() -> None:
    csrf = "ab" * 16

    assert csrf_matches(csrf, csrf)
    assert not csrf_matches(csrf, "")
    assert not csrf_matches(csrf, csrf + "0")
    assert not csrf_matches(csrf, "é" * 32)


def test_sign_in_attempts_come_ten_at_once_then_one_every_six_seconds() -> None:
    now = [0.0]
    limiter = RateLimiter(SIGN_IN_PER_SECOND, SIGN_IN_BURST, monotonic=lambda: now[0])

    assert [limiter.retry_after("198.51.100.7") for _ in range(10)] == [0] * 10
    assert limiter.retry_after("198.51.100.7") == 6
    assert limiter.retry_after("198.51.100.8") == 0  # another address: its own allowance
    now[0] += 6
    assert limiter.retry_after("198.51.100.7") == 0
    assert limiter.retry_after("198.51.100.7") == 6


@pytest.mark.parametrize(
    ("host", "bucket"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("::ffff:198.51.100.7", "198.51.100.7"),  # IPv4 on a dual-stack socket
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),  # one subscriber's /64 is one client
        ("2001:db8:1:2::ffff", "2001:db8:1:2::/64"),
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
        ("testclient", "testclient"),  # not an address: as it is
        (None, ""),
    ],
)
def test_sign_ins_are_counted_per_address_and_per_ipv6_64(host: str | None, bucket: str) -> None:
    assert client_bucket(host) == bucket


def test_queue_depth_counts_every_job_processing_at_some_moment_of_a_minute() -> None:
    start = 1_000_000
    # 2 jobs from before the hour, 3 arriving in minute 10 and 1 in minute 59;
    # minute 20 ends 2 (one completed, one failed), minute 30 one more (cancelled).
    series = activity(
        start,
        {-1: 2, 10: 3, 59: 1},
        [(20, JobState.SUCCEEDED, 1), (20, JobState.FAILED, 1), (30, JobState.CANCELLED, 1)],
    )

    assert len(series.depth) == BUCKETS
    assert series.depth[0] == 2
    assert series.depth[9] == 2
    assert series.depth[10] == 5
    assert series.depth[19] == 5
    assert series.depth[20] == 5  # the two that ended in it were processing until then
    assert series.depth[21] == 3
    assert series.depth[30] == 3
    assert series.depth[31] == 2
    assert series.depth[58] == 2
    assert series.depth[59] == 3
    assert series.processing_now == 3
    assert series.completed[20] == 1
    assert sum(series.completed) == 1
    assert series.failed[20] == 1
    assert series.failed[30] == 1
    assert sum(series.failed) == 2
    # A job of a few seconds shows in its minute, though it is gone by the minute's
    # end; and a bucket past the hour (a clock a little ahead) counts in the last one.
    late = activity(start, {BUCKETS + 2: 1}, [(BUCKETS + 2, JobState.SUCCEEDED, 1)])
    assert late.completed[-1] == 1
    assert late.depth[-1] == 1
    assert late.processing_now == 0


def test_an_empty_hour_draws_flat_charts() -> None:
    series = activity(0, {}, [])

    depth = line_chart("depth", "Depth", series.depth, series.processing_now)
    bars = bar_chart("done", "Done", series.completed, start_ms=0, bucket_ms=BUCKET_MS, noun="x")

    assert depth.total == "0 now, at most 0 in a minute"
    assert len(depth.line.split()) == BUCKETS
    assert bars.bars == ()
    assert bars.total == "0 in the hour"


def test_bars_scale_to_a_round_top_and_say_when_and_how_many() -> None:
    values = [0] * BUCKETS
    values[0], values[59] = 7, 3
    start = 1_764_849_600_000  # 2025-12-04T12:00:00Z

    chart = bar_chart("done", "Done", values, start_ms=start, bucket_ms=BUCKET_MS, noun="done")

    first, last = chart.bars
    assert [tick.label for tick in chart.ticks] == ["0", "5", "10"]
    assert first.label == "12:00 UTC: 7 done"
    assert last.label == "12:59 UTC: 3 done"
    assert first.height == pytest.approx(last.height * 7 / 3, rel=1e-3)
    assert first.x < last.x
    assert chart.total == "10 in the hour"


@pytest.mark.parametrize(
    ("value", "ceiling"),
    [(0, 1), (1, 1), (2, 2), (3, 5), (7, 10), (10, 10), (11, 20), (99, 100), (1000, 1000)],
)
def test_nice_ceiling(value: int, ceiling: int) -> None:
    assert nice_ceiling(value) == ceiling


def test_filters_keep_what_the_form_sends_and_drop_the_rest() -> None:
    query = JobQuery.parse(
        {
            "status": "failed",
            "type": "export.run",
            "period": "1h",
            "from": "2026-12-04T10:00",
            "to": "2026-12-04T11:30",
            "after": "job_abc123",
        }
    )
    now = 1_796_383_000_000  # 2026-12-04T10:56:40Z

    found = query.job_filter(now)

    assert (found.status, found.type) == ("failed", "export.run")
    assert found.created_after == now - 3_600_000  # the later of the two lower bounds
    assert found.created_before == 1_796_383_800_000  # 2026-12-04T11:30Z
    assert query.query_string() == (
        "status=failed&type=export.run&period=1h&from=2026-12-04T10%3A00&to=2026-12-04T11%3A30"
    )
    assert query.query_string(after="job_x").endswith("&after=job_x")
    hostile = JobQuery.parse(
        {"status": "queued", "type": "x", "period": "1y", "from": "2026-13-01T00:00", "after": "x"}
    )
    assert hostile == JobQuery()
    since = JobQuery.parse({"from": "2026-12-04T10:00"}).job_filter(now)
    assert since.created_after == 1_796_378_400_000 - 1  # from the minute on, inclusive


@pytest.mark.parametrize(
    ("ms", "text"),
    [
        (None, "-"),
        (850, "850 ms"),
        (12_400, "12.4 s"),
        (185_000, "3 min 05 s"),
        (7_440_000, "2 h 04 min"),
    ],
)
def test_durations_read_well(ms: int | None, text: str) -> None:
    assert duration(ms) == text


def test_previews_beyond_the_queue_are_refused_at_once() -> None:
    # Waiting requests hold no thread, but they are still bounded: past
    # MAX_WAITING the route answers 503 with Retry-After instead of queueing.
    previews = PagePreviews("A4", ImageBudget())
    previews._waiting = MAX_WAITING  # as many as may wait are waiting

    async def ask() -> bytes:
        return await previews.png(None, None, 1, lambda _asset_id: None)  # type: ignore[arg-type]

    with pytest.raises(PreviewsBusyError):
        anyio.run(ask)
