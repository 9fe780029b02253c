"""`NXDOCS_LOG_FORMAT=json`: one JSON object per line, with the request and job ids."""

from __future__ import annotations

import logging
import re
import sys

import orjson

from nxdocs.logs import JOB_ID, REQUEST_ID, JsonFormatter


def record(message: str, *args: object, level: int = logging.INFO) -> logging.LogRecord:
    return logging.LogRecord("nxdocs.test", level, __file__, 1, message, args, None)


def test_a_line_has_time_level_logger_and_message() -> None:
    line = JsonFormatter().format(record("job %s failed: %s", "job_1", "FLAKY"))
    parsed = orjson.loads(line)
    assert parsed.keys() == {"time", "level", "logger", "message"}
    assert parsed["message"] == "job job_1 failed: FLAKY"
    assert parsed["level"] == "INFO"
    assert parsed["logger"] == "nxdocs.test"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", parsed["time"])


def test_the_ids_of_the_request_and_the_job_are_added_while_set() -> None:
    request_token = REQUEST_ID.set("req-1")
    job_token = JOB_ID.set("job_abc")
    try:
        parsed = orjson.loads(JsonFormatter().format(record("working")))
    finally:
        JOB_ID.reset(job_token)
        REQUEST_ID.reset(request_token)
    assert (parsed["request_id"], parsed["job_id"]) == ("req-1", "job_abc")
    assert "request_id" not in orjson.loads(JsonFormatter().format(record("later")))


def test_one_line_however_the_message_looks() -> None:
    line = JsonFormatter().format(record("a\nb\r\x00" + "x" * 10_000))
    assert "\n" not in line
    assert orjson.loads(line)["message"].startswith("a\nb\r\x00xxx")
    assert orjson.loads(line)["message"].endswith("more)")


def test_an_exception_is_summarised_never_a_traceback() -> None:
    try:
        raise ValueError("SELECT secret FROM api_keys")
    except ValueError:
        failed = record("it broke", level=logging.ERROR)
        failed.exc_info = sys.exc_info()
    parsed = orjson.loads(JsonFormatter().format(failed))
    assert parsed["exception"].startswith("ValueError at ")
    assert "SELECT" not in str(parsed)
