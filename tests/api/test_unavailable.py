"""Database outages are told apart from bugs in one place, and answer 503 on every layer."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from starlette.types import Receive, Scope, Send

from nxdocs.api.catch_all import CatchAllErrors
from nxdocs.api.error_handlers import install_error_handlers
from nxdocs.db.outage import is_outage
from tests.support.contract import check_response
from tests.support.server import serving

UNAVAILABLE = {
    "error": {
        "code": "SERVICE_UNAVAILABLE",
        "message": "The service is temporarily unavailable; try again shortly.",
    }
}
STATEMENT = "SELECT owner_id FROM api_keys WHERE key_hash = 'secret'"


def wrapped(orig: Exception) -> sa.exc.DBAPIError:
    """What SQLAlchemy raises around a driver error."""
    return sa.exc.DBAPIError.instance(STATEMENT, {}, orig, Exception)


def invalidated() -> sa.exc.DBAPIError:
    error = wrapped(ValueError("the driver's own words"))
    error.connection_invalidated = True
    return error


def caused_by(cause: BaseException) -> Exception:
    try:
        raise RuntimeError("while loading") from cause
    except RuntimeError as error:
        return error


OUTAGES = {
    "psycopg lost connection": psycopg.OperationalError("server closed the connection"),
    "psycopg admin shutdown": psycopg.errors.AdminShutdown("terminating connection"),
    "sqlalchemy around psycopg": wrapped(psycopg.OperationalError("connection refused")),
    "sqlalchemy pool timeout": sa.exc.TimeoutError("QueuePool limit reached"),
    "connection invalidated": invalidated(),
    "sqlite locked": wrapped(sqlite3.OperationalError("database is locked")),
    "sqlite file gone": sqlite3.OperationalError("unable to open database file"),
    "explicit cause": caused_by(psycopg.OperationalError("connection refused")),
    "exception group": ExceptionGroup("tasks", [psycopg.OperationalError("gone")]),
    "server starting up": psycopg.errors.CannotConnectNow("the database system is starting up"),
    "too many connections": psycopg.errors.TooManyConnections("too many clients"),
    "read-only after a failover": psycopg.errors.ReadOnlySqlTransaction("read-only"),
}
BUGS = {
    "sqlite missing table": wrapped(sqlite3.OperationalError("no such table: jobs")),
    "integrity error": wrapped(sqlite3.IntegrityError("UNIQUE constraint failed")),
    "psycopg syntax error": psycopg.errors.SyntaxError("syntax error at or near"),
    "statement cancelled": psycopg.errors.QueryCanceled("canceling statement due to timeout"),
    "program limit": psycopg.errors.ProgramLimitExceeded("index row size exceeds maximum"),
    "plain bug": ValueError("oops"),
}


@pytest.mark.parametrize("name", OUTAGES)
def test_outages_are_unavailable(name: str) -> None:
    assert is_outage(OUTAGES[name])


@pytest.mark.parametrize("name", BUGS)
def test_bugs_are_not(name: str) -> None:
    assert not is_outage(BUGS[name])


def outage() -> Exception:
    return wrapped(psycopg.OperationalError(f"connection to server failed; {STATEMENT}"))


def framework_app(error: Exception) -> CatchAllErrors:
    """A FastAPI app whose route fails, inside the same layers as nxdocs's."""
    api = FastAPI()
    install_error_handlers(api)

    @api.get("/v1/thing")
    def thing() -> None:
        raise error

    return CatchAllErrors(api)


def raw_app(error: Exception) -> CatchAllErrors:
    """An ASGI app outside the framework, as the poll route is."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raise error

    return CatchAllErrors(app)


@pytest.mark.parametrize("make_app", [framework_app, raw_app])
def test_an_outage_is_a_clean_503_with_retry_after(
    make_app: Callable[[Exception], CatchAllErrors], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    with (
        serving(make_app(outage())) as base_url,
        httpx.Client(base_url=base_url, event_hooks={"response": [check_response]}) as http,
    ):
        response = http.get("/v1/thing")
    assert (response.status_code, response.json()) == (503, UNAVAILABLE)
    assert response.headers["retry-after"] == "2"
    assert "database unavailable on GET /v1/thing, answered 503: OperationalError at" in caplog.text
    assert "SELECT" not in caplog.text
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize("make_app", [framework_app, raw_app])
def test_a_bug_in_a_database_call_is_still_a_500(
    make_app: Callable[[Exception], CatchAllErrors], caplog: pytest.LogCaptureFixture
) -> None:
    with (
        serving(make_app(BUGS["sqlite missing table"])) as base_url,
        httpx.Client(base_url=base_url, event_hooks={"response": [check_response]}) as http,
    ):
        response = http.get("/v1/thing")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "unhandled error on GET /v1/thing" in caplog.text


def test_an_outage_under_load_logs_a_line_a_second_not_a_line_a_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with (
        serving(raw_app(outage())) as base_url,
        httpx.Client(base_url=base_url) as http,
    ):
        statuses = {http.get("/v1/thing").status_code for _ in range(50)}
    assert statuses == {503}
    lines = [r for r in caplog.records if "database unavailable" in r.getMessage()]
    assert 1 <= len(lines) < 10  # fifty failures, about one line per second of them
