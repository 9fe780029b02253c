"""Logging set-up, and a one-line summary of an exception that is safe to log.

Log lines never carry a traceback, SQL or a secret: driver exceptions embed
the statement and its parameters in their text, so only the exception's type
and the place it was raised are logged. Reproduce with the job id at hand.

Client text (a request path, a header) goes through `client_text`: escaped, so
a `%0A` in a path cannot start a line of the client's choosing, and capped.
Every line also passes `OneLineFormatter`, which escapes what a caller forgot.

`NXDOCS_LOG_FORMAT=json` writes each record as one JSON object instead
(`JsonFormatter`), with the id of the request or job it was logged for: the
API sets `REQUEST_ID` around each request, the worker `JOB_ID` around each
attempt, and every line logged meanwhile on that task or thread carries it.
"""

from __future__ import annotations

import logging
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import orjson

_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LogFormat = Literal["text", "json"]
REQUEST_ID: ContextVar[str | None] = ContextVar("nxdocs_request_id", default=None)
"""The id of the HTTP request being answered (also its `Request-Id` header)."""
JOB_ID: ContextVar[str | None] = ContextVar("nxdocs_job_id", default=None)
"""The id of the job whose attempt is running on this thread."""
CLIENT_TEXT_LIMIT = 200
"""Characters of one piece of client text kept in a log line."""
_LINE_LIMIT = 4000
# Control characters that ASCII's backslashreplace leaves as they are.
_CONTROL = {code: f"\\x{code:02x}" for code in [*range(0x20), 0x7F]}
_CONTROL.update({ord("\n"): "\\n", ord("\r"): "\\r", ord("\t"): "\\t"})


class OneLineFormatter(logging.Formatter):
    """Each record is one line: control characters escaped, the message capped.

    A safety net only: client text in the message is already `client_text`,
    which this leaves as it is (no second round of backslashes).
    """

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return _capped(_escape_controls(super().formatMessage(record)), _LINE_LIMIT)


class JsonFormatter(logging.Formatter):
    """Each record as one JSON object on one line: time, level, logger, message, and
    `request_id` and `job_id` when the line was logged for one.

    An exception attached to the record is summarised (`exception_summary`),
    never written out as a traceback.
    """

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, str] = {
            "time": _iso_time(record.created),
            "level": record.levelname,
            "logger": record.name,
            "message": _capped(record.getMessage(), _LINE_LIMIT),
        }
        request_id = REQUEST_ID.get()
        if request_id is not None:
            line["request_id"] = request_id
        job_id = JOB_ID.get()
        if job_id is not None:
            line["job_id"] = job_id
        if record.exc_info and record.exc_info[1] is not None:
            line["exception"] = exception_summary(record.exc_info[1])
        return orjson.dumps(line).decode()


def _iso_time(created: float) -> str:
    """`2026-01-02T03:04:05.678Z`: UTC, to the millisecond."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def configure_logging(level: str, log_format: LogFormat = "text") -> None:
    handler = logging.StreamHandler()
    formatter = JsonFormatter() if log_format == "json" else OneLineFormatter(_FORMAT)
    handler.setFormatter(formatter)
    logging.basicConfig(level=level.upper(), handlers=[handler])
    # httpx logs every request's full URL at INFO: a webhook URL or an image URL
    # may carry a token in its query, and such URLs are the users' own.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))


def client_text(value: str, limit: int = CLIENT_TEXT_LIMIT) -> str:
    """`value` fit for a log line: control and non-ASCII characters escaped
    (`\\n`, `\\x00`, `\\udfff`), backslashes doubled, at most `limit` characters of it kept
    (and how many were cut said)."""
    return _escape(value, limit)


def _escape(value: str, limit: int) -> str:
    kept = value[:limit]
    # Backslashes doubled first, so an escape we write and one the client
    # wrote as text never look alike.
    escaped = kept.replace("\\", "\\\\").encode("ascii", "backslashreplace").decode("ascii")
    escaped = _escape_controls(escaped)
    cut = len(value) - len(kept)
    return f"{escaped}...({cut} more)" if cut else escaped


def _escape_controls(text: str) -> str:
    return "".join(_CONTROL.get(ord(char), char) for char in text)


def _capped(text: str, limit: int) -> str:
    """`text` at most `limit` characters long, saying how many were cut."""
    cut = len(text) - limit
    return f"{text[:limit]}...({cut} more)" if cut > 0 else text


def exception_summary(exc: BaseException) -> str:
    """`ValueError at nxdocs/render/pptx.py:123 in add_table`."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {_short(last.filename)}:{last.lineno} in {last.name}"


def _short(filename: str) -> str:
    parts = Path(filename).parts
    for anchor in ("nxdocs", "site-packages"):
        if anchor in parts:
            return "/".join(parts[parts.index(anchor) :])
    return Path(filename).name
