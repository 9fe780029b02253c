"""The dashboard's Jinja templates (`templates/` in this package) and their filters.

Autoescaping is on for every template: job results, error messages, artifact
names and filter values are client text, and reach the page only escaped.
"""

from __future__ import annotations

from typing import Any

import jinja2
import orjson
from starlette.responses import HTMLResponse

from nxdocs.clock import format_timestamp
from nxdocs.jobs.model import JobState


class Pages:
    def __init__(self) -> None:
        self.environment = jinja2.Environment(
            loader=jinja2.PackageLoader("nxdocs.dashboard", "templates"),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.environment.filters.update(
            when=when, duration=duration, pretty_json=pretty_json, public_status=public_status
        )

    def render(self, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
        page = self.environment.get_template(template).render(**context)
        return HTMLResponse(page, status_code=status_code)


def when(ms: int | None) -> str:
    """`2026-12-04 15:30:12 UTC`; a dash for no time."""
    if ms is None:
        return "-"
    stamp = format_timestamp(ms)
    return f"{stamp[:10]} {stamp[11:19]} UTC"


def duration(ms: int | None) -> str:
    """`850 ms`, `12.4 s`, `3 min 05 s`, `2 h 04 min`; a dash for none."""
    if ms is None:
        return "-"
    if ms < 1000:
        return f"{max(ms, 0)} ms"
    if ms < 60_000:
        return f"{ms / 1000:.1f} s"
    minutes, seconds = divmod(ms // 1000, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def pretty_json(value: object) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()


def public_status(state: str) -> str:
    """The contract's status for an internal state (`running` is `processing`)."""
    return JobState(state).public_status
