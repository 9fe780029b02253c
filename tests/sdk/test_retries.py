"""The core's retries and backoff, unit by unit: the pure policy, then the client over
httpx's MockTransport (a server that fails on cue; the only stand-in in these tests)."""

from __future__ import annotations

import asyncio
import datetime
import email.utils
from collections.abc import Callable

import httpx
import pytest

from nxdocs import AsyncClient, Client
from nxdocs.sdk import (
    APIConnectionError,
    APIError,
    ConflictError,
    RateLimitError,
    RetryPolicy,
    ServerError,
    ValidationError,
)
from nxdocs.sdk.errors import error_class
from nxdocs.sdk.operations import _safe_file_name
from nxdocs.sdk.wire import ApiRequest, retry_after

JOB = {
    "id": "job_abc123def456",
    "object": "job",
    "type": "artifact.create",
    "status": "processing",
    "result": None,
    "error": None,
    "created_at": "2026-01-15T10:30:00.000Z",
    "updated_at": "2026-01-15T10:30:00.000Z",
}
ARTIFACT = {
    "id": "doc_abc123def456",
    "object": "artifact",
    "name": "Deck",
    "type": "presentation",
    "status": "generating",
    "job_id": "job_abc123def456",
    "created_at": "2026-01-15T10:30:00.000Z",
    "updated_at": "2026-01-15T10:30:00.000Z",
}
GET = ApiRequest("GET", "/v1/jobs/job_x")
POST = ApiRequest("POST", "/v1/jobs/job_x/cancel")
CREATE = ApiRequest("POST", "/v1/artifacts", idempotency_key="k")
FAST = RetryPolicy(max_retries=2, base_seconds=0.001, cap_seconds=0.002, jitter=lambda: 1.0)


def api_error(status: int, code: str, retry_after: float | None = None) -> APIError:
    return error_class(status)("failed", status_code=status, code=code, retry_after=retry_after)


def test_backoff_doubles_up_to_its_cap_with_full_jitter() -> None:
    policy = RetryPolicy(max_retries=10, base_seconds=0.5, cap_seconds=3, jitter=lambda: 0.5)
    error = api_error(503, "SERVICE_UNAVAILABLE")
    delays = [policy.delay(n, error, GET) for n in range(5)]
    assert delays == [0.25, 0.5, 1.0, 1.5, 1.5]


def test_retry_after_is_honoured_and_too_long_a_one_is_not_waited_for() -> None:
    policy = RetryPolicy(max_retry_after=60)
    assert policy.delay(0, api_error(429, "RATE_LIMITED", 7), POST) == 7
    assert policy.delay(0, api_error(429, "RATE_LIMITED", 3600), GET) is None


def test_retries_are_bounded() -> None:
    policy = RetryPolicy(max_retries=2)
    error = api_error(500, "INTERNAL_ERROR", 1)
    assert [policy.delay(n, error, GET) for n in range(3)] == [1, 1, None]


def test_only_requests_safe_to_repeat_are_retried_after_a_5xx_or_lost_connection() -> None:
    policy = RetryPolicy()
    lost = APIConnectionError("lost")
    assert policy.delay(0, lost, GET) is not None
    assert policy.delay(0, lost, CREATE) is not None  # its Idempotency-Key makes it safe
    assert policy.delay(0, lost, POST) is None  # a cancel sent twice could answer 409
    assert policy.delay(0, api_error(500, "INTERNAL_ERROR"), POST) is None
    assert policy.delay(0, api_error(429, "RATE_LIMITED", 1), POST) == 1
    assert policy.delay(0, api_error(400, "VALIDATION_ERROR"), GET) is None


def test_a_create_whose_key_is_still_in_use_is_retried_after_its_retry_after() -> None:
    policy = RetryPolicy()
    in_use = api_error(409, "CONFLICT", 1)
    assert policy.delay(0, in_use, CREATE) == 1
    assert policy.delay(0, api_error(409, "IDEMPOTENCY_KEY_REUSED"), CREATE) is None
    assert policy.delay(0, api_error(409, "CONFLICT"), POST) is None


Handler = Callable[[httpx.Request], httpx.Response]


def scripted(*answers: httpx.Response | Exception) -> tuple[Handler, list[httpx.Request]]:
    """A handler answering each request with the next answer; the requests it saw."""
    seen: list[httpx.Request] = []
    queue = list(answers)

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    return handle, seen


def error_answer(status: int, code: str, **headers: str) -> httpx.Response:
    body = {"error": {"code": code, "message": "no"}}
    return httpx.Response(status, json=body, headers=headers)


def client(handler: Handler) -> Client:
    transport = httpx.MockTransport(handler)
    return Client(
        "nxd_key", base_url="http://nxdocs.test/v1", retry_policy=FAST, transport=transport
    )


def test_a_create_retried_after_429_5xx_and_a_lost_connection_keeps_its_key() -> None:
    handler, seen = scripted(
        error_answer(429, "RATE_LIMITED", **{"Retry-After": "0"}),
        httpx.ConnectError("refused"),
        httpx.Response(202, json=ARTIFACT),
    )
    created = client(handler).artifacts.create_async(content="# One")
    assert created.id == ARTIFACT["id"]
    keys = {request.headers["idempotency-key"] for request in seen}
    assert len(seen) == 3
    assert len(keys) == 1
    assert all(request.url.path == "/v1/artifacts/async" for request in seen)
    # A second create is another request: another key.
    handler, more = scripted(httpx.Response(202, json=ARTIFACT))
    client(handler).artifacts.create_async(content="# One")
    assert more[0].headers["idempotency-key"] not in keys


def test_5xx_answers_are_retried_then_raised_as_server_errors() -> None:
    handler, seen = scripted(*[error_answer(503, "SERVICE_UNAVAILABLE")] * 3)
    with pytest.raises(ServerError) as raised:
        client(handler).jobs.get("job_x")
    assert len(seen) == 3  # the first attempt and FAST's two retries
    assert (raised.value.status_code, raised.value.code) == (503, "SERVICE_UNAVAILABLE")


def test_a_non_json_error_body_still_maps_to_its_class() -> None:
    handler, _ = scripted(*[httpx.Response(502, text="<html>Bad gateway</html>")] * 3)
    with pytest.raises(ServerError) as raised:
        client(handler).jobs.get("job_x")
    assert raised.value.code == "HTTP_502"


def test_a_422_is_a_validation_error_and_not_retried() -> None:
    handler, seen = scripted(error_answer(422, "VALIDATION_ERROR"))
    with pytest.raises(ValidationError):
        client(handler).jobs.get("job_x")
    assert len(seen) == 1


def test_a_cancel_is_not_resent_after_a_lost_connection() -> None:
    handler, seen = scripted(httpx.ReadError("reset"))
    with pytest.raises(APIConnectionError):
        client(handler).jobs.cancel("job_x")
    assert len(seen) == 1


def test_a_sync_create_whose_first_attempt_still_runs_is_retried_on_409() -> None:
    handler, seen = scripted(
        httpx.ReadTimeout("slow"),
        error_answer(409, "CONFLICT", **{"Retry-After": "0"}),
        httpx.Response(201, json={**ARTIFACT, "status": "ready"}),
    )
    assert client(handler).artifacts.create(content="# One").status == "ready"
    assert len({request.headers["idempotency-key"] for request in seen}) == 1


def test_the_async_client_shares_the_retries() -> None:
    handler, seen = scripted(
        error_answer(429, "RATE_LIMITED", **{"Retry-After": "0"}), httpx.Response(200, json=JOB)
    )

    async def scenario() -> str:
        transport = httpx.MockTransport(handler)
        async with AsyncClient(
            "nxd_key", base_url="http://nxdocs.test", retry_policy=FAST, transport=transport
        ) as made:
            return (await made.jobs.get("job_abc123def456")).id

    assert asyncio.run(scenario()) == JOB["id"]
    assert len(seen) == 2
    assert seen[0].headers["authorization"] == "Bearer nxd_key"


def test_rate_limits_beyond_the_retries_raise_with_retry_after() -> None:
    handler, _ = scripted(*[error_answer(429, "RATE_LIMITED", **{"Retry-After": "0"})] * 3)
    with pytest.raises(RateLimitError) as raised:
        client(handler).jobs.get("job_x")
    assert raised.value.retry_after == 0


def test_conflicts_without_retry_after_are_raised_at_once() -> None:
    handler, seen = scripted(error_answer(409, "CONFLICT"))
    with pytest.raises(ConflictError):
        client(handler).jobs.cancel("job_x")
    assert len(seen) == 1


def test_a_retry_after_date_without_a_zone_is_read_as_utc() -> None:
    later = email.utils.format_datetime(
        datetime.datetime.now(datetime.UTC) + datetime.timedelta(seconds=30), usegmt=False
    ).replace("+0000", "-0000")
    waited = retry_after(httpx.Headers({"Retry-After": later}))
    assert waited is not None
    assert 25 <= waited <= 30


def test_a_download_never_leaves_the_folder_asked_for() -> None:
    assert _safe_file_name("../../.bashrc", "exp_1.pdf") == ".bashrc"
    assert _safe_file_name("/etc/passwd", "exp_1.pdf") == "passwd"
    assert _safe_file_name("..", "exp_1.pdf") == "exp_1.pdf"
    assert _safe_file_name(None, "exp_1.pdf") == "exp_1.pdf"
    assert _safe_file_name("Launch plan.pdf", "exp_1.pdf") == "Launch plan.pdf"
