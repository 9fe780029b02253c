"""One real error of the server per exception class, as the SDK raises it; and what
no exception or repr may carry: the API key."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from nxdocs import Client
from nxdocs.sdk import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    AuthenticationError,
    ConfigurationError,
    NotFoundError,
    NxdocsError,
    PayloadTooLargeError,
    RateLimitError,
    ValidationError,
)
from tests.sdk.servers import DECK, idle_database
from tests.support.api import MakeApi, ServedApi
from tests.support.server import free_port


def test_a_bad_key_is_an_authentication_error(served: ServedApi) -> None:
    with (
        Client("nxd_not_a_real_key", base_url=served.base_url) as client,
        pytest.raises(AuthenticationError) as raised,
    ):
        client.jobs.get("job_abc123def456")
    error = raised.value
    assert (error.status_code, error.code) == (401, "UNAUTHORIZED")
    assert isinstance(error, APIError)
    assert isinstance(error, NxdocsError)
    assert "nxd_not_a_real_key" not in f"{error} {error!r} {error.args}"


def test_an_unknown_artifact_is_not_found(client: Client) -> None:
    with pytest.raises(NotFoundError) as raised:
        client.artifacts.get("doc_doesnotexist")
    assert str(raised.value) == "NOT_FOUND (404): The requested resource was not found."


def test_an_invalid_body_is_a_validation_error_naming_the_field(client: Client) -> None:
    with pytest.raises(ValidationError) as raised:
        client.artifacts.create_async(content=DECK, page_count=0)
    error = raised.value
    assert (error.status_code, error.code) == (400, "VALIDATION_ERROR")
    assert [detail["field"] for detail in error.details] == ["page_count"]


def test_a_body_over_the_limit_is_payload_too_large(client: Client) -> None:
    with pytest.raises(PayloadTooLargeError) as raised:
        client.artifacts.create_async(content="x" * 2_100_000)
    assert (raised.value.status_code, raised.value.code) == (413, "PAYLOAD_TOO_LARGE")


def test_the_used_up_export_quota_is_a_rate_limit_raised_at_once(
    module_make_api: MakeApi, tmp_path: Path
) -> None:
    """Its Retry-After lasts until the month ends: far beyond what a retry waits for."""
    served = module_make_api(monthly_export_limit=0, **idle_database(tmp_path))
    with Client(served.caller("quota").key, base_url=served.base_url) as client:
        artifact = client.artifacts.create_async(content=DECK)
        with pytest.raises(RateLimitError) as raised:
            client.exports.create_async(artifact.id, "pdf")
    error = raised.value
    assert (error.status_code, error.code) == (429, "RATE_LIMITED")
    assert error.retry_after is not None
    assert error.retry_after > 60


def test_no_server_is_a_connection_error() -> None:
    with (
        Client("nxd_key", base_url=f"http://127.0.0.1:{free_port()}", max_retries=0) as client,
        pytest.raises(APIConnectionError) as raised,
    ):
        client.jobs.get("job_abc123def456")
    assert not isinstance(raised.value, APITimeoutError)
    assert "nxd_key" not in str(raised.value)


def test_no_answer_in_time_is_a_timeout() -> None:
    """A server that takes the request and never answers: the read timeout ends it.
    (A sync create is held by nxdocs for its sync wait, and the SDK reads that
    long beyond its timeout, so the timeout is shown on a listener of its own.)"""
    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        with (
            Client(
                "nxd_key", base_url=f"http://127.0.0.1:{port}", timeout=0.2, max_retries=0
            ) as client,
            pytest.raises(APITimeoutError) as raised,
        ):
            client.jobs.get("job_abc123def456")  # accepted by the kernel, never answered
    assert isinstance(raised.value, APIConnectionError)
    assert str(raised.value) == "GET /v1/jobs/job_abc123def456: no answer in time (ReadTimeout)."


def test_a_client_without_a_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError):
        Client(base_url="http://127.0.0.1:8000")
