"""What the client commands print: Rich tables for people, JSON for scripts, one line
per error on stderr, and the exit code each outcome has (docs/cli.md)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from enum import IntEnum
from typing import Any

import typer
from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from nxdocs.sdk import (
    ConfigurationError,
    Job,
    JobFailedError,
    NxdocsError,
    WaitTimeoutError,
)

NO_WRAP = frozenset({"id", "result", "created_at"})
"""Columns of ids and times, which a reader copies whole."""


class ExitCode(IntEnum):
    OK = 0
    API_ERROR = 1
    """The server answered with an error, or could not be reached."""
    USAGE = 2
    """Wrong options or arguments (Typer's own code), or no API key."""
    JOB_FAILED = 3
    """The job (or the artifact or export it made) ended `failed`."""
    TIMED_OUT = 4
    """The wait ran out with the job still processing."""


def stdout() -> Console:
    return Console(highlight=False)


def stderr() -> Console:
    return Console(stderr=True, highlight=False)


@contextmanager
def exit_codes() -> Iterator[None]:
    """Turn the SDK's exceptions into one line on stderr and the command's exit code."""
    try:
        yield
    except JobFailedError as failed:
        _fail(f"failed: {failed}", ExitCode.JOB_FAILED)
    except WaitTimeoutError as timed_out:
        _fail(f"timed out: {timed_out}", ExitCode.TIMED_OUT)
    except ConfigurationError as missing:
        _fail(f"error: {missing}", ExitCode.USAGE)
    except NxdocsError as error:
        _fail(f"error: {error}", ExitCode.API_ERROR)
    except OSError as unwritable:  # a download's folder missing, a disk full
        _fail(f"error: {unwritable.strerror or unwritable}", ExitCode.API_ERROR)


def _fail(line: str, code: ExitCode) -> None:
    stderr().print(line, markup=False, soft_wrap=True)
    raise typer.Exit(code)


def job_exit(job: Job) -> None:
    """Exit 3 after printing a job that ended failed."""
    if job.status == "failed":
        error = job.error
        detail = f"{error.code}: {error.message}" if error else "no error given"
        _fail(f"failed: job {job.id}: {detail}", ExitCode.JOB_FAILED)


def show(model: BaseModel, as_json: bool) -> None:
    """One object: JSON, or a table of its fields."""
    if as_json:
        typer.echo(json.dumps(model.model_dump(mode="json"), indent=2))
        return
    table = Table(show_header=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in model.model_dump(mode="json").items():
        table.add_row(name, _cell(value))
    stdout().print(table)


def show_list(models: Iterable[BaseModel], columns: Sequence[str], as_json: bool) -> None:
    """Several objects: a JSON array, or a table of `columns`."""
    dumped = [model.model_dump(mode="json") for model in models]
    if as_json:
        typer.echo(json.dumps(dumped, indent=2))
        return
    table = Table()
    for column in columns:
        table.add_column(column, no_wrap=column in NO_WRAP, overflow="fold")
    for row in dumped:
        table.add_row(*(_cell(row.get(column)) for column in columns))
    stdout().print(table)


def _cell(value: Any) -> Text:
    """A field as a table shows it, as plain text: a server's strings (an artifact's
    name) may hold `[...]`, which Rich would otherwise read as markup."""
    return Text(_shown(value))


def _shown(value: Any) -> str:
    """Progress as 2/5, an error as its code, a job's result as the id it names."""
    if value is None:
        return "-"
    if isinstance(value, dict):
        if set(value) == {"done", "total"}:
            return f"{value['done']}/{value['total']}"
        if "code" in value:
            return str(value["code"])
        if all(isinstance(item, str) for item in value.values()):
            return " ".join(value.values())
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)
