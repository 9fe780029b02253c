"""Every response carries a `Request-Id`, errors included, and the log lines of
the request carry the same id."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from starlette.types import Receive, Scope, Send

from nxdocs.api.app import create_app
from nxdocs.api.catch_all import CatchAllErrors
from nxdocs.api.request_context import RequestContext, RouteTemplates
from nxdocs.logs import JsonFormatter
from nxdocs.settings import Settings
from nxdocs.system import System, build_system
from tests.support.server import checked_client, free_port, serving

GENERATED = re.compile(r"[0-9a-f]{32}")


class JsonLines(logging.Handler):
    """Formats each record as it is logged, while the request's id is still set."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[dict[str, str]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(orjson.loads(self.format(record)))


@pytest.fixture
def json_lines() -> Iterator[JsonLines]:
    handler = JsonLines()
    logger = logging.getLogger("nxdocs.api")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@pytest.fixture
def sqlite_system(tmp_path: Path) -> Iterator[System]:
    database = f"sqlite:///{tmp_path / 'nxdocs.db'}"
    system = build_system(Settings(database_url=database, data_dir=tmp_path))
    yield system
    system.close()


@pytest.fixture
def client(sqlite_system: System) -> Iterator[httpx.Client]:
    with checked_client(create_app(sqlite_system, embedded_worker=False)) as http:
        yield http


def test_each_response_gets_a_new_id(client: httpx.Client) -> None:
    ids = [client.get("/health").headers["request-id"] for _ in range(2)]
    assert all(GENERATED.fullmatch(found) for found in ids)
    assert ids[0] != ids[1]


@pytest.mark.parametrize("header", ["Request-Id", "X-Request-Id"])
def test_a_safe_id_from_the_client_is_kept(client: httpx.Client, header: str) -> None:
    sent = "3f2a9c0d-1e7b:6a55.x"
    assert client.get("/health", headers={header: sent}).headers["request-id"] == sent


@pytest.mark.parametrize(
    "sent",
    [
        "nxd_" + "a" * 40,  # a key sent by mistake: underscores are refused
        "whsec_abc",
        "a" * 65,
        "id with spaces",
        "<script>",
        "caf\u00e9",
    ],
)
def test_an_unsafe_id_is_replaced(client: httpx.Client, sent: str) -> None:
    got = client.get("/health", headers={"Request-Id": sent.encode("utf-8")}).headers
    assert GENERATED.fullmatch(got["request-id"])


def test_error_responses_carry_the_id(client: httpx.Client, sqlite_system: System) -> None:
    key = sqlite_system.keys.create("t").secret
    answers = [
        client.get("/v1/artifacts"),  # 401, before routing
        client.get("/v1/jobs/job_abc123def456", headers={"Authorization": f"Bearer {key}"}),
        client.get("/nowhere"),  # 404
        client.post("/health"),  # 405
        client.post("/v1/artifacts", headers={"Authorization": f"Bearer {key}"}, json=[]),  # 400
    ]
    assert [answer.status_code for answer in answers] == [401, 404, 404, 405, 400]
    assert all(GENERATED.fullmatch(answer.headers["request-id"]) for answer in answers)


async def exploding_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return  # lifespan: start and stop cleanly
    raise RuntimeError("a bug")


def test_the_catch_all_500_carries_the_id_and_logs_it(json_lines: JsonLines) -> None:
    app = RequestContext(CatchAllErrors(exploding_app), RouteTemplates([]))
    with serving(app) as base_url:
        response = httpx.get(f"{base_url}/v1/anything", headers={"X-Request-Id": "boom-1"})
    assert response.status_code == 500
    assert response.headers["request-id"] == "boom-1"
    [line] = [line for line in json_lines.lines if line["logger"] == "nxdocs.api.catch_all"]
    assert line["request_id"] == "boom-1"
    assert line["message"].startswith("unhandled error on GET /v1/anything: RuntimeError at")


def test_the_outage_503_carries_the_id(tmp_path: Path) -> None:
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nxdocs"
    settings = Settings(database_url=closed, data_dir=tmp_path, signing_secret="s" * 32)
    system = build_system(settings, migrate=False)
    try:
        with checked_client(create_app(system, embedded_worker=False)) as client:
            response = client.get(
                "/v1/artifacts", headers={"Authorization": "Bearer nxd_" + "a" * 40}
            )
    finally:
        system.close()
    assert response.status_code == 503
    assert GENERATED.fullmatch(response.headers["request-id"])
