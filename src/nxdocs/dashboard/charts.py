"""The charts' geometry: a series in, the shapes of a small SVG chart out.

Pure: the template (`_charts.html.j2`) writes the SVG from these numbers and
escapes every text in it; no chart library, no script. Shapes take their
colours from classes in the stylesheet (the page's policy admits no inline
style).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from nxdocs.clock import format_timestamp

WIDTH, HEIGHT = 480, 170
_LEFT, _RIGHT, _TOP, _BOTTOM = 36, 8, 12, 28
_PLOT_WIDTH = WIDTH - _LEFT - _RIGHT
_PLOT_HEIGHT = HEIGHT - _TOP - _BOTTOM


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str


@dataclass(frozen=True)
class Tick:
    """A horizontal grid line at `y`, labelled with its value."""

    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    """One chart: bars (`kind` "bars") or a line over a filled area (`kind` "line")."""

    id: str
    title: str
    kind: str
    total: str
    bars: tuple[Bar, ...]
    line: str
    area: str
    ticks: tuple[Tick, ...]
    width: int = WIDTH
    height: int = HEIGHT
    left: int = _LEFT
    right: int = WIDTH - _RIGHT


def bar_chart(
    chart_id: str, title: str, values: Sequence[int], *, start_ms: int, bucket_ms: int, noun: str
) -> Chart:
    """One bar per bucket that has a value; each bar's label says when and how many."""
    top = nice_ceiling(max(values, default=0))
    step = _PLOT_WIDTH / max(len(values), 1)
    bars = tuple(
        Bar(
            x=round(_LEFT + index * step + step * 0.1, 2),
            y=round(_y(value, top), 2),
            width=round(step * 0.8, 2),
            height=round(_TOP + _PLOT_HEIGHT - _y(value, top), 2),
            label=f"{_minute(start_ms + index * bucket_ms)}: {value} {noun}",
        )
        for index, value in enumerate(values)
        if value > 0
    )
    return Chart(chart_id, title, "bars", f"{sum(values)} in the hour", bars, "", "", _ticks(top))


def line_chart(chart_id: str, title: str, values: Sequence[int], now: int) -> Chart:
    """The values as a line, each at the middle of its bucket, over a filled area;
    `now` is the value at this moment, for the summary."""
    top = nice_ceiling(max(values, default=0))
    step = _PLOT_WIDTH / max(len(values), 1)
    points = [
        (round(_LEFT + (index + 0.5) * step, 2), round(_y(value, top), 2))
        for index, value in enumerate(values)
    ]
    line = " ".join(f"{x},{y}" for x, y in points)
    base = _TOP + _PLOT_HEIGHT
    area = f"{points[0][0]},{base} {line} {points[-1][0]},{base}" if points else ""
    summary = f"{now} now, at most {max(values, default=0)} in a minute"
    return Chart(chart_id, title, "line", summary, (), line, area, _ticks(top))


def nice_ceiling(value: int) -> int:
    """The smallest of 1, 2, 5, 10, 20, 50, ... that is at least `value` (1 for 0)."""
    if value <= 1:
        return 1
    power = int(10 ** (len(str(value)) - 1))  # power <= value < 10 * power
    return next(factor * power for factor in (1, 2, 5, 10) if factor * power >= value)


def _y(value: int, top: int) -> float:
    return _TOP + _PLOT_HEIGHT * (1 - value / top)


def _ticks(top: int) -> tuple[Tick, ...]:
    levels = (0, top // 2, top) if top >= 2 else (0, top)
    return tuple(Tick(round(_y(level, top), 2), str(level)) for level in levels)


def _minute(ms: int) -> str:
    """`14:05 UTC`, from the API's timestamp format."""
    return f"{format_timestamp(ms)[11:16]} UTC"
